"""`python -m gjeld_consent serve|migrate|rekey`."""

from gjeld_shared.entrypoint import service_main

from .adapters import PROTECTED
from .bootstrap import MIGRATIONS, NAME, build
from .settings import ConsentSettings


def main() -> None:
    service_main(NAME, ConsentSettings, build, MIGRATIONS, PROTECTED)


if __name__ == "__main__":
    main()
