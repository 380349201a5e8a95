"""Where persons live, for the debt statistics by county (issue 17): the municipality of residence the population
register (Folkeregisteret) holds for each, asked for many at once. Production asks the register itself
(`PopulationRegisterResidences`) where an operator has set it (the README's two questions answered); development and
tests ask the sandbox population (`SandboxResidences`), in which every synthetic identity number is a person living
somewhere."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx
from gjeld_shared.providers import ProviderRefused, bearer, checked
from gjeld_shared.sandbox import sandbox_person
from gjeld_shared.server import backoff

log = logging.getLogger(__name__)

BULK = 1000  # the most numbers one of Folkeregisteret's bulk lookups takes
# Answers worth asking again after a pause: too many calls, and a register briefly unavailable.
PASSING = {429, 502, 503, 504}


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
    keeps fresh in a file), read on each call. A batch the register cannot take just now (429, 502-504, no
    connection) is asked again after a pause (its Retry-After, else 1, 2, 4 s), `attempts` times in all; a failure
    names the register and its status, never a number."""

    def __init__(
        self, http: httpx.AsyncClient, url: str, token_file: Path, attempts: int = 4, pause: float = 1.0
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._http, self._url, self._token = http, url.rstrip("/"), token_file
        self._attempts, self._pause = attempts, pause

    async def municipalities(self, identity_numbers: Sequence[str]) -> Mapping[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(identity_numbers), BULK):
            numbers = list(identity_numbers[start : start + BULK])
            asked = set(numbers)
            answered = [a for a in await self._ask(numbers) if _number(a) in asked]
            if not answered:  # another shape than the register's: counting everyone as "unknown" would mislead
                raise ProviderRefused(f"the population register answered for none of the {len(numbers)} asked")
            for answer in answered:
                if municipality := residence(answer.get("folkeregisterperson")):
                    found[_number(answer)] = municipality
        return found

    async def _ask(self, numbers: list[str]) -> list[dict[str, Any]]:
        for attempt in range(1, self._attempts + 1):
            pause = self._pause * backoff(attempt - 1).total_seconds()  # 1, 2, 4 s … (times `pause`)
            try:
                reply = await self._http.post(
                    f"{self._url}/api/v1/personer/bulkoppslag",
                    params={"part": "bostedsadresse"},
                    json={"foedselsEllerDNummer": numbers},
                    headers={**bearer(self._token), "Accept": "application/json"},
                )
                if reply.status_code not in PASSING or attempt == self._attempts:
                    answers = checked(reply, "the population register").json().get("oppslag") or []
                    return [a for a in answers if isinstance(a, dict)]
                wait = _retry_after(reply.headers.get("retry-after"), pause)
                log.warning("the population register answered %s; asking again in %.1f s", reply.status_code, wait)
            except httpx.TransportError as error:  # their text may hold what was sent
                if attempt == self._attempts:
                    raise ProviderRefused(
                        f"the population register could not be reached: {type(error).__name__}"
                    ) from None
                wait = pause
                log.warning("the population register could not be reached; asking again in %.1f s", wait)
            except (httpx.HTTPError, ValueError, AttributeError, TypeError) as error:
                raise ProviderRefused(f"the population register could not be read: {type(error).__name__}") from None
            await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _retry_after(header: str | None, otherwise: float) -> float:
    """The pause a Retry-After header in seconds asks for (at most a minute), else `otherwise`."""
    try:
        return min(60.0, max(0.0, float(header))) if header else otherwise
    except ValueError:
        return otherwise


def residence(person: object) -> str | None:
    """The municipality number of a person's current residential address in Folkeregisteret's person document: a
    street address's, a cadastral address's (its cadastral number's), or an unknown address's municipality. A
    document of another shape gives none."""
    addresses = _part(person, "bostedsadresse")
    current = (
        next((a for a in addresses if _part(a, "erGjeldende") is True), None) if isinstance(addresses, list) else None
    )
    cadastral = _part(current, "matrikkeladresse")
    number = (
        _part(_part(current, "vegadresse"), "kommunenummer")
        or _part(_part(cadastral, "matrikkelnummer"), "kommunenummer")
        or _part(cadastral, "kommunenummer")
        or _part(_part(current, "ukjentBosted"), "bostedskommune")
    )
    return number if isinstance(number, str) and number else None


def _part(document: object, name: str) -> Any:
    """A part of a JSON document, or None where the document is not an object or lacks it."""
    return document.get(name) if isinstance(document, dict) else None


def _number(answer: object) -> str:
    """The identity number an answer of the bulk lookup is for ("" for none)."""
    number = _part(answer, "foedselsEllerDNummer")
    return number if isinstance(number, str) else ""
