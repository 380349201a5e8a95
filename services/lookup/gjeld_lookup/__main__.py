"""`python -m gjeld_lookup serve|migrate`."""

from gjeld_shared.entrypoint import service_main

from .bootstrap import MIGRATIONS, NAME, build
from .settings import LookupSettings


def main() -> None:
    service_main(NAME, LookupSettings, build, MIGRATIONS)


if __name__ == "__main__":
    main()
