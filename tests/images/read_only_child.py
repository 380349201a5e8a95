"""What test_read_only.py runs in a process of its own, as an unprivileged user: `read_only_child.py <deployable>`.

It watches every write Python makes (an audit hook on opening files for writing, making and removing folders,
renaming, temporary files), then does what a deployable does on its way to serving that could leave a file behind:
runs its entry point (`python -m gjeld_<name> --help`, the real module, up to where it would read its settings),
imports all of its code, reads its settings from the image's environment (the files and database a pod is given
stood in for) and sets up its logging and tracing, loads its migrations as `migrate` does, and renders what it
renders (notify's letters as text and PDF, Min gjeld's pages; both languages, so gettext catalogues are compiled and
templates too). It prints each write outside $TMPDIR (the image's /tmp), one a line; test_read_only.py reads that.

Writes that C code makes without Python's help are not seen by the hook: those the unprivileged user's permissions
catch (HOME and the working directory are read-only; so is everything that is not the scratch folder or world
writable), which makes the process fail.
"""

from __future__ import annotations

import os
import sys
from typing import Any

SCRATCH = os.path.realpath(os.environ["TMPDIR"])
WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
CHANGING = {
    "os.mkdir",
    "os.remove",
    "os.rmdir",
    "os.rename",
    "os.symlink",
    "os.link",
    "os.truncate",
    "os.chmod",
    "os.chown",
    "os.utime",
    "shutil.rmtree",
    "shutil.copyfile",
    "tempfile.mkstemp",
    "tempfile.mkdtemp",
}
written: list[str] = []


def outside_scratch(path: Any) -> bool:
    if isinstance(path, int) or path is None:  # a descriptor: its opening was seen
        return False
    where = os.path.realpath(os.fsdecode(path))
    return where != "/dev/null" and not where.startswith(SCRATCH + os.sep) and where != SCRATCH


def watch(event: str, args: tuple[Any, ...]) -> None:
    if event == "open":
        path, mode, flags = args
        writing = flags & WRITING if isinstance(flags, int) else any(c in (mode or "") for c in "wax+")
        if writing and outside_scratch(path):
            written.append(f"{event} {path!r} {mode or ''}")
    elif event in CHANGING and args and outside_scratch(args[0]):
        written.append(f"{event} {args[0]!r}")


def run_entry_point(deployable: str) -> None:
    import contextlib
    import io
    import runpy

    sys.argv = [f"gjeld-{deployable}", "--help"]
    with contextlib.redirect_stdout(io.StringIO()) as printed, contextlib.suppress(SystemExit):
        runpy.run_module(f"gjeld_{deployable}", run_name="__main__", alter_sys=True)
    assert "serve" in printed.getvalue(), printed.getvalue()


def import_everything(deployable: str) -> None:
    import importlib
    import pkgutil

    for package in ("gjeld_shared", f"gjeld_{deployable}"):
        module = importlib.import_module(package)
        for found in pkgutil.walk_packages(module.__path__, f"{package}."):
            if ".migrations" not in found.name:  # env.py migrates when imported: loaded below, as alembic does
                importlib.import_module(found.name)


def read_settings_and_set_up_telemetry(deployable: str) -> None:
    import importlib

    from gjeld_shared.telemetry import configure_logging, tracer_provider
    from pydantic_settings import BaseSettings

    module = importlib.import_module(f"gjeld_{deployable}.settings")
    (settings_type,) = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, BaseSettings) and value.__module__ == module.__name__
    ]
    for name, field in settings_type.model_fields.items():  # what the pod gives: files mounted, a database
        if field.is_required():
            os.environ.setdefault(f"GJELD_{name.upper()}", f"/run/secrets/{name}")
    settings: Any = settings_type()
    configure_logging(f"gjeld-{deployable}", settings.log_level)
    tracer_provider(f"gjeld-{deployable}", settings.trace_file).shutdown()


def load_migrations(deployable: str) -> None:
    import importlib

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    bootstrap = importlib.import_module(f"gjeld_{deployable}.bootstrap")
    config = Config()
    config.set_main_option("script_location", str(bootstrap.MIGRATIONS))
    revisions = list(ScriptDirectory.from_config(config).walk_revisions())
    assert revisions, "no migrations found"


def render_letters() -> None:
    from gjeld.notify.v1 import notify_pb2
    from gjeld.type.v1 import identity_pb2
    from gjeld_notify import letters
    from gjeld_notify.domain import Contact

    letter = notify_pb2.CopyLetter(
        recipient=identity_pb2.Institution(
            organization_number=identity_pb2.OrganizationNumber(value="910000000"),
            name="Nordlys Kreditt AS",
            postal_address=["Storgata 10", "9008 Tromsø"],
        ),
        purpose="Credit assessment of a loan application, with your consent",
        source="gjeld",
    )
    letter.disclose_time.GetCurrentTime()
    addressee = Contact("Kari Nordmann", ("Gate 1", "0150 Oslo"))
    for language in letters.LANGUAGES:
        message = letters.message([letter], addressee, language)
        assert message.pdf.startswith(b"%PDF"), language


def render_pages() -> None:
    from gjeld_portal import bootstrap, views
    from gjeld_portal.sessions import LANGUAGES

    render = bootstrap.page_renderer()
    for language in LANGUAGES:
        for template in ("landing.html", "logged_out.html"):
            page = render(language, template, session=None, notice="", current="/", institution_name=str, names=views)
            assert "<html" in page, (language, template)
    # Every template compiled in every language, as the pages compile them on first use (Jinja2 would keep compiled
    # templates on disk only if given a bytecode cache: this is where one would show).
    cells = [cell.cell_contents for cell in render.__closure__ or ()]
    environments = next(cell for cell in cells if isinstance(cell, dict))
    for environment in environments.values():
        for name in environment.list_templates():
            environment.get_template(name)


def main() -> None:
    deployable = sys.argv[1]
    sys.addaudithook(watch)
    run_entry_point(deployable)
    import_everything(deployable)
    read_settings_and_set_up_telemetry(deployable)
    if deployable == "portal":
        render_pages()
    else:
        load_migrations(deployable)
    if deployable == "notify":
        render_letters()
    for line in written:
        print(line)


if __name__ == "__main__":
    main()
