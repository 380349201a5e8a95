"""Norway's counties (fylker) as the population register's municipality numbers name them since 1 January 2024: a
municipality's first two digits are its county's number (Oslo 0301: county 03)."""

from __future__ import annotations

COUNTIES = {
    "03": "Oslo",
    "11": "Rogaland",
    "15": "Møre og Romsdal",
    "18": "Nordland",
    "31": "Østfold",
    "32": "Akershus",
    "33": "Buskerud",
    "34": "Innlandet",
    "39": "Vestfold",
    "40": "Telemark",
    "42": "Agder",
    "46": "Vestland",
    "50": "Trøndelag",
    "55": "Troms",
    "56": "Finnmark",
}


def county(municipality: str | None) -> str | None:
    """The county of a municipality number ("4601": "46"); None for none, or for a number of no county today (one
    from before the reforms, or Svalbard's 21xx, which is no county)."""
    if municipality is None or len(municipality) != 4 or not municipality.isdigit():
        return None
    number = municipality[:2]
    return number if number in COUNTIES else None
