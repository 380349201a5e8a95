"""`python -m gjeld_lookup serve|migrate|rekey`."""

from gjeld_shared.entrypoint import service_main

from .adapters import PROTECTED
from .bootstrap import MIGRATIONS, NAME, build
from .settings import LookupSettings


def main() -> None:
    service_main(NAME, LookupSettings, build, MIGRATIONS, PROTECTED)


if __name__ == "__main__":
    main()
