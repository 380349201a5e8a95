"""Each deployable's Dockerfile, read as Docker reads it: two stages from one base pinned by tag; dependencies only
from the hashed lock and our own packages without theirs; the final stage the build stage's venv alone, run by a
numeric non-root user, fit for a read-only root filesystem, listening where the service's settings say; and a
.dockerignore that keeps clutter out of the build context but nothing a Dockerfile copies."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pydantic_settings import BaseSettings

if TYPE_CHECKING:
    from conftest import Dockerfile

ROOT = Path(__file__).resolve().parents[2]
LOCKS = {"scripts/build-tools.lock"}  # besides each deployable's own services/<name>/requirements.lock


def test_is_multi_stage_from_one_base_pinned_by_tag(dockerfile: Dockerfile) -> None:
    assert len(dockerfile.stages) >= 2, "one stage: the image would carry the build tools"
    bases = {stage.base for stage in dockerfile.stages}
    assert len(bases) == 1, f"the stages' bases differ ({bases}): the venv links to the build stage's python"
    (base,) = bases
    # A tag with the full Python version (or a digest), never a moving one such as 3.11-slim or latest.
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), base


def test_final_stage_runs_as_a_numeric_non_root_user(dockerfile: Dockerfile) -> None:
    users = dockerfile.final.all("USER")
    assert users, "the final stage has no USER: it would run as root"
    user = users[-1].arguments
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER {user}: Kubernetes' runAsNonRoot can check only a number"
    assert all(int(number) != 0 for number in user.split(":")), f"USER {user} is root"


def test_dependencies_come_only_from_the_hashed_lock(deployable: str, dockerfile: Dockerfile) -> None:
    installs = [
        command
        for stage in dockerfile.stages
        for command in stage.commands()
        if re.search(r"\bpip\b.*\binstall\b", command)
    ]
    own_lock = f"services/{deployable}/requirements.lock"
    copied_locks = {
        instruction.words()[-1]: instruction.words()[0]
        for stage in dockerfile.builders
        for instruction in stage.all("COPY")
        if instruction.words()[0].endswith(".lock")
    }
    assert own_lock in copied_locks.values(), f"{own_lock} is not copied into the build"
    assert set(copied_locks.values()) <= {own_lock, *LOCKS}, copied_locks
    installed_locks = set()
    for command in installs:
        words = command.split()
        assert "--no-deps" in words, f"pip may resolve (and fetch unpinned) dependencies: {command}"
        if "-r" in words:
            assert "--require-hashes" in words, f"a lock installed without its hashes checked: {command}"
            installed_locks.add(copied_locks.get(words[words.index("-r") + 1]))
        else:
            assert "--no-index" in words, f"installs from an index without a lock: {command}"
    assert own_lock in installed_locks, f"{own_lock} is never installed with --require-hashes"


def test_build_stage_takes_only_this_deployables_sources(deployable: str, dockerfile: Dockerfile) -> None:
    sources = {
        instruction.words()[0]
        for stage in dockerfile.builders
        for instruction in stage.all("COPY")
        if not instruction.words()[0].endswith(".lock")
    }
    assert sources == {"protos/python", "shared", f"services/{deployable}"}
    assert not [stage for stage in dockerfile.stages for _ in stage.all("ADD")], "ADD can fetch: COPY only"
    for source in sources | LOCKS | {f"services/{deployable}/requirements.lock"}:
        assert (ROOT / source).exists(), source


def test_bytecode_is_compiled_in_the_build(dockerfile: Dockerfile) -> None:
    compiled = [command for stage in dockerfile.builders for command in stage.commands() if "-m compileall" in command]
    assert compiled, "no compileall: the service would compile its modules at every start"


def test_final_stage_copies_only_from_the_build_stage(dockerfile: Dockerfile) -> None:
    builders = {stage.name for stage in dockerfile.builders}
    copies = dockerfile.final.all("COPY") + dockerfile.final.all("ADD")
    assert copies, "the final stage copies nothing: where is the service?"
    for instruction in copies:
        assert instruction.flags().get("from") in builders, f"line {instruction.line}: {instruction.arguments}"
    installs = [command for command in dockerfile.final.commands() if re.search(r"\bpip\b.*\binstall\b", command)]
    assert not installs, installs


def test_environment_suits_a_read_only_root_filesystem(dockerfile: Dockerfile) -> None:
    env = dockerfile.final.env()
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1", "Python would try to write bytecode next to the modules"
    assert env.get("PYTHONUNBUFFERED") == "1", "logs would sit in a buffer"
    # HOME is where libraries keep caches: /tmp, the one place written (an emptyDir), not / or a missing folder.
    assert env.get("HOME", "").startswith("/tmp"), env.get("HOME")
    venv = dockerfile.final.all("COPY")[0].words()[-1]
    assert env.get("PATH", "").startswith(f"{venv}/bin:"), "python must be the venv's"


def listeners(settings: type[BaseSettings]) -> dict[str, int]:
    """The settings' listening addresses (environment variable: default port)."""
    fields = settings.model_fields
    return {
        f"GJELD_{name.upper()}": int(str(fields[name].default).rsplit(":", 1)[1])
        for name in fields
        if name.endswith("listen_address") or name == "portal_address"
    }


def test_listens_and_exposes_the_ports_of_its_settings(dockerfile: Dockerfile, settings: type[BaseSettings]) -> None:
    env = dockerfile.final.env()
    ports = listeners(settings)
    assert ports, "no listening address in the settings"
    for variable, port in ports.items():
        # The settings' defaults are loopback; in a pod the service must listen on every interface, same port.
        assert env.get(variable) == f"0.0.0.0:{port}", variable
    exposed = {int(port) for instruction in dockerfile.final.all("EXPOSE") for port in instruction.words()}
    assert exposed == set(ports.values())


def test_entry_point_is_the_services_command(deployable: str, dockerfile: Dockerfile) -> None:
    (entrypoint,) = dockerfile.final.all("ENTRYPOINT")
    (command,) = dockerfile.final.all("CMD")
    assert entrypoint.words() == ["python", "-m", f"gjeld_{deployable}"]
    assert command.words() == ["serve"]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps path out of the build context (its rules: the last matching pattern decides, a
    folder's pattern covers what is inside, ** any number of folders)."""

    def regex(pattern: str) -> str:
        parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/"))
        wildcards = {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
        return "".join(wildcards.get(part, re.escape(part)) for part in parts)

    decided = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if re.fullmatch(regex(pattern.lstrip("!")) + "(/.*)?", path):
            decided = not negated
    return decided


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize(
    "clutter",
    [
        *[".venv/bin/python", ".data/postgres/PG_VERSION", "node_modules/.bin/buf", "tests/test_end_to_end.py"],
        *[".git/HEAD", "services/notify/tests/test_notify.py", "shared/gjeld_shared/__pycache__/db.cpython-311.pyc"],
        *["services/portal/gjeld_portal.egg-info/PKG-INFO", "screenshots/landing.png"],
    ],
)
def test_dockerignore_keeps_clutter_out(clutter: str) -> None:
    assert ignored(clutter, dockerignore())


def test_dockerignore_keeps_in_what_a_dockerfile_copies(deployable: str, dockerfile: Dockerfile) -> None:
    patterns = dockerignore()
    for stage in dockerfile.builders:
        for instruction in stage.all("COPY"):
            source = instruction.words()[0]
            files = [source] if (ROOT / source).is_file() else [f"{source}/pyproject.toml"]
            if source == f"services/{deployable}":
                files.append(f"{source}/gjeld_{deployable}/__main__.py")
            for file in files:
                assert not ignored(file, patterns), f"{file} is copied by {dockerfile.path.name} but ignored"
