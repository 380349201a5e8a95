"""The images' locks are complete and current: every pin exact and hashed, wheels only; each deployable's lock holds
exactly the dependency tree of its packages (the tree read from what is installed in the development environment,
starting from gjeld-<name>), in versions its pyproject.toml files allow; the build tools' lock holds pip and every
build backend named. When one fails: `python scripts/lock_images.py` (deploy/images.md)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
BUILD_TOOLS = ROOT / "scripts" / "build-tools.lock"
SHA256 = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Pin:
    name: str  # canonical
    version: str
    hashes: tuple[str, ...]
    line: str


def read_lock(path: Path) -> tuple[list[str], list[Pin]]:
    """A lock's options (--only-binary …) and pins. Every requirement must be `name==version` with its hashes."""
    logical, pending = [], ""
    for raw in path.read_text().splitlines():
        text = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not text:
            continue
        if text.endswith("\\"):
            pending += text[:-1] + " "
        else:
            logical.append(pending + text)
            pending = ""
    options, pins = [], []
    for line in logical:
        words = line.split()
        if words[0].startswith("--"):
            options.append(line)
            continue
        hashes = tuple(word for word in words if word.startswith("--hash="))
        requirement = Requirement(" ".join(word for word in words if not word.startswith("--hash=")))
        (specifier,) = requirement.specifier or [None]
        assert specifier is not None and specifier.operator == "==", f"{path.name}: not pinned exactly: {line}"
        assert not requirement.url, f"{path.name}: a URL, not a pin: {line}"
        pins.append(Pin(canonicalize_name(requirement.name), specifier.version, hashes, line))
    return options, pins


def lock_of(deployable: str) -> Path:
    return ROOT / "services" / deployable / "requirements.lock"


def own_packages(deployable: str) -> dict[str, Path]:
    """The deployable's own packages (installed from source, never from the lock) and their folders."""
    folders = [ROOT / "protos" / "python", ROOT / "shared", ROOT / "services" / deployable]
    return {canonicalize_name(tomllib.loads((f / "pyproject.toml").read_text())["project"]["name"]): f for f in folders}


def dependency_tree(root: str) -> set[str]:
    """Every distribution root needs, from the installed distributions' metadata (markers evaluated for this
    machine, extras followed): what the image needs installed beside root."""
    needed: set[str] = set()
    todo, seen = [(canonicalize_name(root), frozenset[str]())], set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        needed.add(name)
        for text in metadata.distribution(name).requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras or {""}):
                todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return needed


def test_reading_a_lock_refuses_a_loose_requirement(tmp_path: Path) -> None:
    # The checks below rest on read_lock: fed a requirement that is not pinned exactly, it must refuse it.
    loose = tmp_path / "loose.lock"
    loose.write_text(lock_of("ingest").read_text() + "\nrequests>=2\n")
    with pytest.raises(AssertionError, match="not pinned exactly"):
        read_lock(loose)


@pytest.mark.parametrize("path", ["deployable", "build tools"])
def test_every_pin_is_exact_and_hashed_and_wheels_only(path: str, deployable: str) -> None:
    lock = lock_of(deployable) if path == "deployable" else BUILD_TOOLS
    options, pins = read_lock(lock)
    assert pins, f"{lock} pins nothing"
    assert "--only-binary :all:" in options, "the slim base has no compiler: wheels only"
    for pin in pins:
        assert pin.hashes, f"{lock.name}: {pin.name} has no hash"
        assert all(SHA256.fullmatch(h) for h in pin.hashes), f"{lock.name}: {pin.name}: not sha256"
    names = [pin.name for pin in pins]
    assert len(names) == len(set(names)), f"{lock.name}: a package pinned twice"


def test_lock_holds_exactly_the_deployables_dependency_tree(deployable: str) -> None:
    _, pins = read_lock(lock_of(deployable))
    pinned = {pin.name for pin in pins}
    own = set(own_packages(deployable))
    needed = dependency_tree(f"gjeld-{deployable}") - own
    assert own <= dependency_tree(f"gjeld-{deployable}"), "the deployable's own packages are not all in its tree"
    assert not pinned & own, f"our own packages must come from source, not an index: {pinned & own}"
    assert not needed - pinned, f"needed but not in the lock (relock): {sorted(needed - pinned)}"
    assert not pinned - needed, f"in the lock but needed by nothing (relock): {sorted(pinned - needed)}"


def test_lock_pins_versions_the_pyproject_files_allow(deployable: str) -> None:
    _, pins = read_lock(lock_of(deployable))
    versions = {pin.name: pin.version for pin in pins}
    own = own_packages(deployable)
    for folder in own.values():
        for text in tomllib.loads((folder / "pyproject.toml").read_text())["project"]["dependencies"]:
            requirement = Requirement(text)
            name = canonicalize_name(requirement.name)
            if name in own:
                continue
            assert name in versions, f"{folder.name} needs {name}, which the lock lacks"
            assert requirement.specifier.contains(versions[name], prereleases=True), (
                f"{folder.name} asks {text}, the lock pins {versions[name]} (relock)"
            )


def test_build_tools_lock_holds_pip_and_every_build_backend() -> None:
    _, pins = read_lock(BUILD_TOOLS)
    versions = {pin.name: pin.version for pin in pins}
    folders = [ROOT / "protos" / "python", ROOT / "shared", *sorted((ROOT / "services").glob("*/pyproject.toml"))]
    required = {"pip"}
    for folder in folders:
        pyproject = folder if folder.is_file() else folder / "pyproject.toml"
        required.update(tomllib.loads(pyproject.read_text())["build-system"]["requires"])
    for text in required:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in versions, f"the build needs {text}, which {BUILD_TOOLS.name} lacks"
        assert requirement.specifier.contains(versions[name]), f"{text}: the lock pins {versions[name]}"
