"""Where debtors live, for the statistics by county (issue 17): Folkeregisteret's bulk lookup as its API is shaped (a
fake of it over real HTTP, gjeld_tools.fake_providers), a thousand numbers at a time, asked again while it is briefly
down; in production only once an operator sets it, and never the sandbox population."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from gjeld_ingest.bootstrap import residences
from gjeld_ingest.residences import PopulationRegisterResidences, SandboxResidences, residence
from gjeld_ingest.settings import IngestSettings
from gjeld_portal.bootstrap import HttpServer
from gjeld_shared.providers import ProviderRefused
from gjeld_shared.sandbox import sandbox_person
from gjeld_tools import synthetic
from gjeld_tools.fake_providers import FakeProviders

REAL = "01019010046"  # a valid identity number that is not synthetic: nobody in the sandbox population


@pytest.fixture
async def register(tmp_path: Path) -> AsyncIterator[tuple[FakeProviders, str, Path]]:
    fake = FakeProviders("register-token", "unused", rsa.generate_private_key(65537, 2048).public_key())
    server = HttpServer("127.0.0.1:0")
    await server.start(fake.app())
    token_file = tmp_path / "population-register-token"
    token_file.write_text("register-token\n")
    try:
        yield fake, f"http://127.0.0.1:{server.port}/folkeregister", token_file
    finally:
        await server.stop()


async def test_the_register_is_asked_a_thousand_at_a_time_and_gives_each_persons_municipality(
    register: tuple[FakeProviders, str, Path],
) -> None:
    fake, url, token_file = register
    numbers = [*itertools.islice(synthetic.people(seed=21), 2_400), REAL]
    async with httpx.AsyncClient() as http:
        found = await PopulationRegisterResidences(http, url, token_file).municipalities(numbers)
    assert fake.registry_calls == 3  # 1,000 + 1,000 + 401: the register's limit is 1,000 a lookup
    expected = {n: p.municipality for n in numbers if (p := sandbox_person(n))}
    assert found == expected and len(found) == 2_400  # and nobody for the real number
    assert found == await SandboxResidences().municipalities(numbers)  # development's twin says the same


async def test_a_refusal_is_named_by_its_status_and_never_by_a_number(
    register: tuple[FakeProviders, str, Path], tmp_path: Path
) -> None:
    fake, url, _ = register
    wrong = tmp_path / "wrong-token"
    wrong.write_text("not-the-token")
    numbers = list(itertools.islice(synthetic.people(seed=22), 5))
    async with httpx.AsyncClient() as http:
        with pytest.raises(ProviderRefused, match="401") as refused:
            await PopulationRegisterResidences(http, url, wrong).municipalities(numbers)
        with pytest.raises(ProviderRefused) as unreachable:
            await PopulationRegisterResidences(http, "http://127.0.0.1:1/folkeregister", wrong).municipalities(numbers)
    assert fake.registry_calls == 0  # the wrong token answered before anything was looked up
    for error in (refused.value, unreachable.value):
        assert not any(number in str(error) for number in numbers)
        # No chained error carrying the request (httpx's text names the URL, and a register's URL may name a person).
        assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


async def test_a_register_briefly_down_is_asked_again_and_one_that_stays_down_fails_the_count(
    register: tuple[FakeProviders, str, Path],
) -> None:
    fake, url, token_file = register
    numbers = list(itertools.islice(synthetic.people(seed=23), 10))
    async with httpx.AsyncClient() as http:
        asked = PopulationRegisterResidences(http, url, token_file, attempts=3, pause=0.01)
        fake.unavailable = 2
        assert len(await asked.municipalities(numbers)) == 10  # the third attempt answered
        assert fake.registry_calls == 3
        fake.unavailable = 3
        with pytest.raises(ProviderRefused, match="503"):
            await asked.municipalities(numbers)
        assert fake.registry_calls == 6
        # An answer in another shape fails the count rather than counting everyone as "unknown".
        fake.reshaped = True
        with pytest.raises(ProviderRefused, match="answered for none of the 10"):
            await asked.municipalities(numbers)


def test_the_municipality_is_read_from_the_current_residential_address_of_any_kind() -> None:
    def person(*addresses: Any) -> dict[str, Any]:
        return {"bostedsadresse": list(addresses)}

    street = {"erGjeldende": True, "vegadresse": {"kommunenummer": "4601"}}
    assert residence(person({"erGjeldende": False, "vegadresse": {"kommunenummer": "0301"}}, street)) == "4601"
    # A cadastral address (farms, cabins): the municipality is part of its cadastral number.
    cadastral = {"matrikkelnummer": {"kommunenummer": "1508", "gaardsnummer": 12, "bruksnummer": 3}}
    assert residence(person({"erGjeldende": True, "matrikkeladresse": cadastral})) == "1508"
    assert residence(person({"erGjeldende": True, "ukjentBosted": {"bostedskommune": "5001"}})) == "5001"
    assert residence(person({"erGjeldende": True, "utenlandskAdresse": {"landkode": "SWE"}})) is None  # emigrated
    # Documents of another shape give none, and never fail the count.
    for odd in ({}, None, [], {"bostedsadresse": None}, person(None, "x", {"erGjeldende": True, "vegadresse": []})):
        assert residence(odd) is None


async def test_production_asks_the_population_register_only_once_an_operator_sets_it(tmp_path: Path) -> None:
    def settings(**given: Any) -> IngestSettings:
        required = {
            "database_url": "postgresql+asyncpg://ingest@localhost/ingest",
            "tls_certificate_file": tmp_path / "tls.crt",
            "tls_key_file": tmp_path / "tls.key",
            "workload_ca_file": tmp_path / "ca.crt",
            "token_audience": "https://gjeld.test/ingest",
            "subject_keys_file": tmp_path / "keys.json",
            "institutions_file": tmp_path / "institutions.json",
        }
        return IngestSettings(**{**required, **given})

    token_file = tmp_path / "population-register-token"
    async with httpx.AsyncClient() as http:
        assert residences(settings(), http) is None  # production, the default: no county table, nothing asked
        real = settings(population_register_url="https://freg.test", population_register_token_file=token_file)
        assert isinstance(residences(real, http), PopulationRegisterResidences)
        assert isinstance(residences(settings(environment="development"), http), SandboxResidences)
