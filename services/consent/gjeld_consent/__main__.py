"""`python -m gjeld_consent serve|migrate`."""

from gjeld_shared.entrypoint import service_main

from .bootstrap import MIGRATIONS, NAME, build
from .settings import ConsentSettings


def main() -> None:
    service_main(NAME, ConsentSettings, build, MIGRATIONS)


if __name__ == "__main__":
    main()
