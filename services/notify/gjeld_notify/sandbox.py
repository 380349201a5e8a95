"""The sandbox population: a deterministic synthetic person for every valid synthetic identity number (month + 80),
as ID-porten's and the population register's test environments have one for every test number, so that in
development and tests a letter reaches anyone. Real identity numbers get nobody: nothing outside development may
fall back to made-up people."""

from __future__ import annotations

import hashlib
import random

from gjeld_shared import identity_numbers

from .domain import Contact

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
PLACES = (
    ("0155", "Oslo"),
    ("5003", "Bergen"),
    ("7011", "Trondheim"),
    ("4006", "Stavanger"),
    ("9008", "Tromsø"),
    ("4610", "Kristiansand"),
    ("3015", "Drammen"),
    ("8006", "Bodø"),
    ("2317", "Hamar"),
    ("6002", "Ålesund"),
)
DIGITAL_MAILBOX_SHARE = 0.85  # most Norwegians have a digital mailbox; the rest get post
MOBILE_SHARE = 0.9


def sandbox_person(identity_number: str) -> Contact | None:
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
    postcode, place = rng.choice(PLACES)
    address = (f"{rng.choice(STREETS)} {rng.randint(1, 120)}", f"{postcode} {place}")
    mobile = f"+47 9{rng.randint(0, 99):02d} {rng.randint(0, 99):02d} {rng.randint(0, 999):03d}"
    return Contact(
        name,
        address,
        digital_mailbox=rng.random() < DIGITAL_MAILBOX_SHARE,
        mobile=mobile if rng.random() < MOBILE_SHARE else "",
    )
