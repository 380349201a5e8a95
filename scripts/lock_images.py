"""Regenerate the images' lock files: `python scripts/lock_images.py` (needs uv in the environment, and PyPI).

Each deployable's image installs exactly what its lock names, every file checked against a sha256 hash
(`pip install --require-hashes --no-deps`), then its own three packages from source with `--no-deps`:

    services/<deployable>/requirements.lock   what runs: the dependency tree of gjeld-protos, gjeld-shared and
                                              gjeld-<deployable>, read from their pyproject.toml files
    scripts/build-tools.lock                  what builds our packages' wheels in the build stage (pip and the
                                              build backend the pyproject.toml files name); it never reaches the
                                              final image

The runtime locks are resolved for CPython 3.11 on Linux x86_64 and resolved again for aarch64: the two must pin
the same versions (they do unless some dependency has a marker on the machine), and the hashes of every file of a
pinned version are kept, so the one lock installs on either architecture. Only wheels (`--only-binary :all:`): the
slim base has no compiler, and a version without a wheel for Linux fails here, not in a build.

Our own packages are given to the resolver as local paths and left out of the lock, so that `gjeld-shared` is never
looked up on an index (a package of that name there would be someone else's). Pins already in a lock are kept
unless `--upgrade` is given (as pip-compile does): regenerating after a pyproject.toml change moves only what must.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOYABLES = ("ingest", "lookup", "consent", "notify", "portal")
COMMON = ("protos/python", "shared")
BUILD_TOOLS_LOCK = ROOT / "scripts" / "build-tools.lock"
# The platforms every lock must resolve identically for: what the images run on (glibc 2.28 is the floor the
# wheels are chosen for; Debian's glibc in the base image is newer).
PLATFORMS = ("x86_64-manylinux_2_28", "aarch64-manylinux_2_28")
PYTHON_VERSION = "3.11"
COMMAND = "python scripts/lock_images.py"


def lock_path(deployable: str) -> Path:
    return ROOT / "services" / deployable / "requirements.lock"


def sources(deployable: str) -> list[str]:
    """The source folders of a deployable's own packages, relative to the repository root."""
    return [*COMMON, f"services/{deployable}"]


def project_name(folder: str) -> str:
    with (ROOT / folder / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["name"])


def build_requirements() -> list[str]:
    """What the build stage needs to turn our source folders into wheels: pip, and every build backend named."""
    named = {"pip"}
    for folder in {*COMMON, *(f"services/{d}" for d in DEPLOYABLES)}:
        with (ROOT / folder / "pyproject.toml").open("rb") as file:
            named.update(tomllib.load(file)["build-system"]["requires"])
    return sorted(named)


def compile_lock(requirements: list[str], output: Path, platform: str, leave_out: list[str], upgrade: bool) -> None:
    """`uv pip compile` of the requirements into output (kept pins preferred unless upgrading)."""
    command = [
        *[sys.executable, "-m", "uv", "pip", "compile", "-", "--quiet", "--output-file", str(output)],
        *["--generate-hashes", "--python-version", PYTHON_VERSION, "--python-platform", platform],
        *["--only-binary", ":all:", "--emit-build-options", "--custom-compile-command", COMMAND],
        *[argument for name in leave_out for argument in ("--no-emit-package", name)],
        *(["--upgrade"] if upgrade else []),
    ]
    subprocess.run(command, input="\n".join(requirements) + "\n", text=True, cwd=ROOT, check=True)


def pins(lock: Path) -> list[str]:
    """The `name==version` lines of a lock, markers included."""
    return [line.rstrip(" \\") for line in lock.read_text().splitlines() if re.match(r"[A-Za-z0-9]", line)]


def lock(requirements: list[str], output: Path, leave_out: list[str], upgrade: bool) -> None:
    """Write the lock for the first platform, and fail if another platform would pin anything differently."""
    compile_lock(requirements, output, PLATFORMS[0], leave_out, upgrade)
    with tempfile.TemporaryDirectory() as scratch:
        for platform in PLATFORMS[1:]:
            other = Path(scratch) / "other.lock"
            other.write_text(output.read_text())  # the same preferences, so a difference is the platform's
            compile_lock(requirements, other, platform, leave_out, upgrade=False)
            if pins(other) != pins(output):
                difference = difflib.unified_diff(pins(output), pins(other), PLATFORMS[0], platform, lineterm="")
                sys.exit(f"{output.relative_to(ROOT)} differs on {platform}:\n" + "\n".join(difference))
    print(f"{output.relative_to(ROOT)}: {len(pins(output))} packages, the same on {', '.join(PLATFORMS)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("deployables", nargs="*", help=f"only these, of {', '.join(DEPLOYABLES)} (default: all)")
    parser.add_argument("--upgrade", action="store_true", help="take the newest versions the pyproject.toml allow")
    args = parser.parse_args()
    unknown = set(args.deployables) - set(DEPLOYABLES)
    if unknown:
        parser.error(f"no such deployable: {', '.join(sorted(unknown))}")
    for deployable in args.deployables or DEPLOYABLES:
        own = [f"./{folder}" for folder in sources(deployable)]
        lock(own, lock_path(deployable), [project_name(folder) for folder in sources(deployable)], args.upgrade)
    if not args.deployables:
        lock(build_requirements(), BUILD_TOOLS_LOCK, [], args.upgrade)


if __name__ == "__main__":
    main()
