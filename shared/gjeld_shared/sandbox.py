"""The sandbox population: a deterministic synthetic person for every valid synthetic identity number (month + 80),
as ID-porten's and the population register's test environments have one for every test number, so that in
development and tests a letter reaches anyone (notify) and everyone lives somewhere (ingest's statistics by county).
Real identity numbers get nobody: nothing outside development may fall back to made-up people."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from . import identity_numbers

GIVEN_NAMES = (
    "Kari Ola Ingrid Lars Anne Per Marit Jon Silje Knut Hanne Erik Nora Bjørn Ida Arne Sigrid Even Liv Magnus"
).split()
FAMILY_NAMES = (
    "Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Johnsen Pettersen Eriksen "
    "Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl"
).split()
STREETS = (
    "Storgata Kirkeveien Skolegata Fjellveien Strandgata Parkveien Bakkeveien Elvegata Solbakken Granveien".split()
)
# Postcode, place, and the municipality (its number since 2024) a person there lives in.
PLACES = (
    ("0155", "Oslo", "0301"),
    ("5003", "Bergen", "4601"),
    ("7011", "Trondheim", "5001"),
    ("4006", "Stavanger", "1103"),
    ("9008", "Tromsø", "5501"),
    ("4610", "Kristiansand", "4204"),
    ("3015", "Drammen", "3301"),
    ("8006", "Bodø", "1804"),
    ("2317", "Hamar", "3403"),
    ("6002", "Ålesund", "1508"),
)
DIGITAL_MAILBOX_SHARE = 0.85  # most Norwegians have a digital mailbox; the rest get post
MOBILE_SHARE = 0.9


@dataclass(frozen=True)
class SandboxPerson:
    """What the registers hold of a sandbox person: the population register their name, postal address and the
    municipality they live in; the contact register their digital mailbox and mobile."""

    name: str
    postal_address: tuple[str, ...]
    municipality: str
    digital_mailbox: bool
    mobile: str


def sandbox_person(identity_number: str) -> SandboxPerson | None:
    """The synthetic person of a synthetic identity number, always the same; None for any other number."""
    try:
        identity_numbers.validate(identity_number)
    except ValueError:
        return None
    if not identity_numbers.is_synthetic(identity_number):
        return None
    seed = hashlib.sha256(f"gjeld-sandbox:{identity_number}".encode()).digest()
    rng = random.Random(int.from_bytes(seed[:8], "big"))
    name = f"{rng.choice(GIVEN_NAMES)} {rng.choice(FAMILY_NAMES)}"
    postcode, place, municipality = rng.choice(PLACES)
    address = (f"{rng.choice(STREETS)} {rng.randint(1, 120)}", f"{postcode} {place}")
    mobile = f"+47 9{rng.randint(0, 99):02d} {rng.randint(0, 99):02d} {rng.randint(0, 999):03d}"
    return SandboxPerson(
        name,
        address,
        municipality,
        digital_mailbox=rng.random() < DIGITAL_MAILBOX_SHARE,
        mobile=mobile if rng.random() < MOBILE_SHARE else "",
    )
