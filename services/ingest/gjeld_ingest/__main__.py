"""`python -m gjeld_ingest serve|migrate`."""

from gjeld_shared.entrypoint import service_main

from .bootstrap import MIGRATIONS, NAME, build
from .settings import IngestSettings


def main() -> None:
    service_main(NAME, IngestSettings, build, MIGRATIONS)


if __name__ == "__main__":
    main()
