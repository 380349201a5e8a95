"""`python -m gjeld_notify serve|migrate`."""

from gjeld_shared.entrypoint import service_main

from .bootstrap import MIGRATIONS, NAME, build
from .settings import NotifySettings


def main() -> None:
    service_main(NAME, NotifySettings, build, MIGRATIONS)


if __name__ == "__main__":
    main()
