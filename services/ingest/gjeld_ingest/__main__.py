"""`python -m gjeld_ingest serve|migrate|rekey`."""

import gc

from gjeld_shared.entrypoint import service_main

from .adapters import PROTECTED
from .bootstrap import MIGRATIONS, NAME, build
from .settings import IngestSettings

# A snapshot makes and drops millions of short-lived objects (records, debts, staged rows); with the default
# threshold (700) the collector runs every few hundred records and, each tenth time, walks everything the process
# imported. Measured on the conversion of snapshot records: about a quarter of its time. The modules' objects are
# moved out of the collector's sight (freeze) and it runs less often; reference counting frees the records anyway.
COLLECT_AFTER = 50_000


def main() -> None:
    gc.freeze()
    gc.set_threshold(COLLECT_AFTER, 20, 100)
    service_main(NAME, IngestSettings, build, MIGRATIONS, PROTECTED)


if __name__ == "__main__":
    main()
