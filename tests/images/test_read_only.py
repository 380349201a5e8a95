"""The images work on a read-only root filesystem (Kubernetes' readOnlyRootFilesystem, with an emptyDir at /tmp).

Without a container engine this is tried as closely as the machine allows: each deployable's code (installed in the
development environment) does what it does on the way to serving (read_only_child.py says what) in a process of its
own, with the environment its Dockerfile gives it, as a user who can write nothing but a scratch folder standing in
for /tmp, and with HOME and the working directory in a folder nobody may write (stricter than the image, whose HOME is
/tmp). An audit hook in the process reports every write Python makes outside the scratch folder; the permissions
catch the rest (a write that fails makes the process fail). It must write nothing at all, not even in the scratch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Dockerfile

CHILD = Path(__file__).with_name("read_only_child.py")
NOBODY = 65534


def as_unprivileged_user() -> list[str]:
    """The command prefix that drops root. Root ignores permissions, so it becomes nobody; but nobody could not run
    the development environment's interpreter here (it lies under /root, mode 0700), so it keeps one capability,
    CAP_DAC_READ_SEARCH: it may read any file and search any folder, and write only where nobody may write."""
    if os.geteuid() != 0:
        return []  # an ordinary user is held by the permissions already
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root without setpriv (util-linux): cannot drop root to try a read-only filesystem")
    return [
        *[setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"],
        *["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", "--"],
    ]


def image_environment(dockerfile: Dockerfile, home: Path, scratch: Path) -> dict[str, str]:
    """The final stage's environment, /tmp standing for the scratch folder, HOME read-only, python the venv's."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "TMPDIR": str(scratch), "LANG": "C.UTF-8"}
    for name, value in dockerfile.final.env().items():
        if name == "PATH":
            continue
        env[name] = str(scratch) + value[len("/tmp") :] if value.startswith("/tmp") else value
    env["HOME"] = str(home)
    return env


def test_writes_nothing_with_a_read_only_root(deployable: str, dockerfile: Dockerfile, tmp_path: Path) -> None:
    home, scratch = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(mode=0o555)
    scratch.mkdir()
    if os.geteuid() == 0:
        os.chown(scratch, NOBODY, NOBODY)
    env = image_environment(dockerfile, home, scratch)
    try:
        done = subprocess.run(
            [*as_unprivileged_user(), sys.executable, str(CHILD), deployable],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        home.chmod(0o755)  # so that pytest can clean up
    assert done.returncode == 0, f"{deployable} failed without a writable filesystem:\n{done.stderr[-3000:]}"
    assert done.stdout == "", f"{deployable} wrote outside /tmp:\n{done.stdout}"
    assert list(home.iterdir()) == [], "written in HOME or the working directory"
    assert list(scratch.iterdir()) == [], "written in /tmp"
