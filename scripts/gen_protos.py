"""Generate the Python code for gjeld's contracts, the one way it is made.

    python scripts/gen_protos.py          write protos/python/gjeld/...
    python scripts/gen_protos.py --check  fail if the committed code differs from protos/

The generated tree is committed, so that a service image installs it without a
compiler, and the check keeps it from drifting from the .proto files.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = PROTOS / "python"
PACKAGE = "gjeld"
BIN = Path(sys.executable).parent  # the venv's bin, where mypy-protobuf's plugins are


def generate(out: Path) -> None:
    sources = sorted(p.relative_to(PROTOS).as_posix() for p in (PROTOS / PACKAGE).rglob("*.proto"))
    well_known = str(resources.files("grpc_tools") / "_proto")
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        # Typed stubs of the messages and of the gRPC stubs and servicers (mypy-protobuf), as temporalio's
        # scripts/gen_protos.py makes them: servicers take a typed context, clients call typed methods.
        f"--plugin=protoc-gen-mypy={BIN / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={BIN / 'protoc-gen-mypy_grpc'}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *sources,
    ]
    subprocess.run(cmd, check=True, cwd=PROTOS)
    for folder in [out / PACKAGE, *(d for d in (out / PACKAGE).rglob("*") if d.is_dir())]:
        (folder / "__init__.py").touch()
        (folder / "py.typed").touch()


def differences(left: Path, right: Path) -> list[str]:
    found: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: str) -> None:
        found.extend(f"{prefix}{n}" for n in cmp.left_only + cmp.right_only + cmp.diff_files)
        for name, sub in cmp.subdirs.items():
            if name != "__pycache__":
                walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right, ignore=["__pycache__"]), "")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the committed code is stale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = Path(tmp) / PACKAGE
        if args.check:
            stale = differences(fresh, OUT / PACKAGE) if (OUT / PACKAGE).exists() else ["(nothing generated)"]
            if stale:
                print("generated code is stale; run `make protos`:", *stale, sep="\n  ", file=sys.stderr)
                return 1
            print("generated code matches protos/")
            return 0
        shutil.rmtree(OUT / PACKAGE, ignore_errors=True)
        shutil.copytree(fresh, OUT / PACKAGE)
    print(f"generated {OUT / PACKAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
