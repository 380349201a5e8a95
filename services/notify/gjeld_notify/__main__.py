"""`python -m gjeld_notify serve|migrate|rekey`."""

from gjeld_shared.entrypoint import service_main

from .adapters import PROTECTED
from .bootstrap import MIGRATIONS, NAME, build
from .settings import NotifySettings


def main() -> None:
    service_main(NAME, NotifySettings, build, MIGRATIONS, PROTECTED)


if __name__ == "__main__":
    main()
