"""`python -m gjeld_ingest serve|migrate|rekey`."""

from gjeld_shared.entrypoint import service_main

from .adapters import PROTECTED
from .bootstrap import MIGRATIONS, NAME, build
from .settings import IngestSettings


def main() -> None:
    service_main(NAME, IngestSettings, build, MIGRATIONS, PROTECTED)


if __name__ == "__main__":
    main()
