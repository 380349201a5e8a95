"""Where persons live, for the debt statistics by county (issue 17): the municipality of residence the population
register (Folkeregisteret) holds for each, asked for many at once. Production asks the register itself
(`PopulationRegisterResidences`); development and tests the sandbox population (`SandboxResidences`), in which every
synthetic identity number is a person living somewhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx
from gjeld_shared.providers import ProviderRefused, bearer, checked
from gjeld_shared.sandbox import sandbox_person


class Residences(Protocol):
    async def municipalities(self, identity_numbers: Sequence[str]) -> Mapping[str, str]:
        """The municipality number each person lives in; a person the register has no residence for in Norway
        (emigrated, dead, unknown to it) is left out."""
        ...


class SandboxResidences:
    """The sandbox population's residences (gjeld_shared.sandbox): nobody for a number that is not synthetic."""

    async def municipalities(self, identity_numbers: Sequence[str]) -> Mapping[str, str]:
        people = ((number, sandbox_person(number)) for number in identity_numbers)
        return {number: person.municipality for number, person in people if person is not None}


class PopulationRegisterResidences:
    """Folkeregisteret's bulk lookup: POST {url}/api/v1/personer/bulkoppslag?part=bostedsadresse with up to 1,000
    numbers, each person's current residential address (a street address, a cadastral one, or an unknown address
    in a known municipality) giving the municipality. The token is ingest's own (a Maskinporten token the platform
    keeps fresh in a file), read on each call. A failure names the register and its status, never a number."""

    BULK = 1000  # the most numbers one bulk lookup takes

    def __init__(self, http: httpx.AsyncClient, url: str, token_file: Path) -> None:
        self._http, self._url, self._token = http, url.rstrip("/"), token_file

    async def municipalities(self, identity_numbers: Sequence[str]) -> Mapping[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(identity_numbers), self.BULK):
            numbers = list(identity_numbers[start : start + self.BULK])
            try:
                reply = await self._http.post(
                    f"{self._url}/api/v1/personer/bulkoppslag",
                    params={"part": "bostedsadresse"},
                    json={"foedselsEllerDNummer": numbers},
                    headers=bearer(self._token),
                )
                answers = checked(reply, "the population register").json().get("oppslag", [])
            except (httpx.HTTPError, ValueError) as error:  # their text may hold what was sent
                raise ProviderRefused(f"the population register could not be read: {type(error).__name__}") from None
            asked = set(numbers)
            for answer in answers:
                number, municipality = (
                    answer.get("foedselsEllerDNummer"),
                    residence(answer.get("folkeregisterperson") or {}),
                )
                if municipality and number in asked:
                    found[number] = municipality
        return found


def residence(person: Mapping[str, Any]) -> str | None:
    """The municipality number of a person's current residential address in Folkeregisteret's person document."""
    current = next((a for a in person.get("bostedsadresse", []) if a.get("erGjeldende")), None)
    if current is None:
        return None
    for kind, field in (("vegadresse", "kommunenummer"), ("matrikkeladresse", "kommunenummer")):
        if number := (current.get(kind) or {}).get(field):
            return str(number)
    number = (current.get("ukjentBosted") or {}).get("bostedskommune")
    return str(number) if number else None
