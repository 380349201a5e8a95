"""notify in production: contact details from the population register and KRR, letters through Digipost, an SMS
gateway and a print provider, each a fake of the outside system served over real HTTP (gjeld_tools.fake_providers),
and never the development twins."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gjeld.notify.v1 import notify_pb2
from gjeld_notify.bootstrap import providers
from gjeld_notify.domain import Contact, Message
from gjeld_notify.providers import DigipostMailbox, PrintProvider, SmsGateway
from gjeld_portal.bootstrap import HttpServer
from gjeld_shared.providers import ProviderRefused
from gjeld_shared.sandbox import sandbox_person
from gjeld_tools.fake_providers import DIGIPOST_NUMBER, FakeProviders
from gjeld_tools.testing import Registry, settings_for

from .test_channels import enqueue, settled

# Synthetic people of the sandbox population, one for each way a letter goes.
WITH_MAILBOX = "01838500095"  # a digital mailbox and a mobile number
MOBILE_ONLY = "01838502772"
NEITHER = "01838501393"
RESERVED = "01838501474"  # a digital mailbox, but reserved in KRR against digital communication
SENDER = "gjeld-sender"


@dataclass
class Outside:
    fake: FakeProviders
    url: str
    settings: dict[str, Any]
    key_file: Path
    token_file: Path


@pytest.fixture
async def registry(services: Callable[..., Awaitable[Registry]]) -> Registry:
    return await services("notify")


@pytest.fixture
async def outside(tmp_path: Path) -> AsyncIterator[Outside]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file, token_file = tmp_path / "digipost-key.pem", tmp_path / "token"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    token_file.write_text("provider-token\n")
    fake = FakeProviders("provider-token", SENDER, key.public_key(), reserved={RESERVED})
    server = HttpServer("127.0.0.1:0")
    await server.start(fake.app())
    url = f"http://127.0.0.1:{server.port}"
    settings = {
        "environment": "production",
        "population_register_file": None,
        "population_register_url": f"{url}/folkeregister",
        "contact_register_url": f"{url}/krr",
        "registers_token_file": token_file,
        "digipost_url": f"{url}/digipost",
        "digipost_sender_id": SENDER,
        "digipost_key_file": key_file,
        "digipost_provider_number": DIGIPOST_NUMBER,
        "smtp_host": "127.0.0.1",  # no one here consented to e-mail
        "sms_gateway_url": f"{url}/sms",
        "sms_gateway_token_file": token_file,
        "print_provider_url": f"{url}/print",
        "print_provider_token_file": token_file,
    }
    try:
        yield Outside(fake, url, settings, key_file, token_file)
    finally:
        await server.stop()


async def test_in_production_each_letter_goes_through_its_real_provider(registry: Registry, outside: Outside) -> None:
    await registry.restart("notify", **outside.settings)
    people = {WITH_MAILBOX: "mailbox", MOBILE_ONLY: "sms", NEITHER: "post", RESERVED: "reserved"}
    ids = {person: (await enqueue(registry, f"p-{name}", subject=person)).notice.id for person, name in people.items()}
    channels = {person: (await settled(registry, person))[0].channel for person in people}
    assert channels == {
        WITH_MAILBOX: notify_pb2.CHANNEL_DIGITAL_MAILBOX,
        MOBILE_ONLY: notify_pb2.CHANNEL_SMS,
        NEITHER: notify_pb2.CHANNEL_POST,
        # KRR's reservation: paper, not the mailbox. Breaking it (ignoring the reservation) fails here.
        RESERVED: notify_pb2.CHANNEL_POST,
    }
    [mail] = outside.fake.digipost
    assert mail["message_id"] == ids[WITH_MAILBOX] and mail["pdf"].startswith(b"%PDF-")
    assert WITH_MAILBOX not in mail["address"] and WITH_MAILBOX.encode() not in mail["xml"]  # addressed by mailbox
    [sms] = outside.fake.sms
    mobile = sandbox_person(MOBILE_ONLY).mobile  # type: ignore[union-attr]
    assert sms["to"] == mobile and sms["reference"] == ids[MOBILE_ONLY] and "Min gjeld" in sms["text"]
    assert "kr" not in sms["text"]  # an SMS says a letter has come, never what it holds
    posted = {letter["key"]: letter for letter in outside.fake.letters}
    assert set(posted) == {ids[NEITHER], ids[RESERVED]}
    neither = sandbox_person(NEITHER)
    assert neither is not None
    assert posted[ids[NEITHER]]["recipient"]["address_lines"] == list(neither.postal_address)
    assert posted[ids[NEITHER]]["recipient"]["name"] == neither.name
    # Nothing went to the development twins.
    assert not [p for p in registry.mailbox.rglob("*") if p.is_file()]


async def test_a_notice_sent_again_reaches_the_person_once_at_every_provider(outside: Outside) -> None:
    message = Message("GJENPART", "text", b"%PDF-1.4 letter", "gjeld: Gjenpart. Logg inn på Min gjeld.")
    notice_id = uuid.uuid4()
    contact = Contact("Kari Nordmann", ("Fjellveien 3", "5003 Bergen"), mobile="+47 900 00 001")
    async with httpx.AsyncClient() as http:
        mailbox = DigipostMailbox(http, f"{outside.url}/digipost", SENDER, outside.key_file)
        sms = SmsGateway(http, f"{outside.url}/sms", outside.token_file, "gjeld")
        post = PrintProvider(http, f"{outside.url}/print", outside.token_file)
        for _ in range(2):  # as after a crash between sending and recording it
            await mailbox.deliver(notice_id, "kari.nordmann#9091", message)
            await sms.deliver(notice_id, contact.mobile, message)
            await post.deliver(notice_id, contact, message)
    assert (len(outside.fake.digipost), len(outside.fake.sms), len(outside.fake.letters)) == (1, 1, 1)
    assert outside.fake.repeats == [str(notice_id)] * 3


async def test_providers_take_only_gjelds_signature_and_token(outside: Outside, tmp_path: Path) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong, wrong_token = tmp_path / "other.pem", tmp_path / "other-token"
    wrong_token.write_text("someone-elses-token")
    wrong.write_bytes(
        other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    message = Message("GJENPART", "text", b"%PDF-1.4 letter", "")
    async with httpx.AsyncClient() as http:
        with pytest.raises(ProviderRefused, match="403"):
            await DigipostMailbox(http, f"{outside.url}/digipost", SENDER, wrong).deliver(uuid.uuid4(), "x#1", message)
        with pytest.raises(ProviderRefused, match="401"):
            await SmsGateway(http, f"{outside.url}/sms", wrong_token, "gjeld").deliver(uuid.uuid4(), "+47 900", message)
        with pytest.raises(ProviderRefused) as unusable:  # a key where a token belongs: named, never echoed
            await SmsGateway(http, f"{outside.url}/sms", wrong, "gjeld").deliver(uuid.uuid4(), "+47 900", message)
        assert "PRIVATE KEY" not in str(unusable.value)
    assert outside.fake.digipost == [] and outside.fake.sms == []


async def test_production_starts_only_with_every_provider_and_never_with_a_development_file(
    registry: Registry, outside: Outside
) -> None:
    def settings(**extra: Any) -> Any:
        return settings_for("notify", registry.folder, registry.socket, registry.database, {}, **extra)

    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="GJELD_DIGIPOST_URL") as refused:
            providers(settings(environment="production", population_register_file=None), http)
        assert "GJELD_SMS_GATEWAY_URL" in str(refused.value) and "GJELD_PRINT_PROVIDER_URL" in str(refused.value)
        with pytest.raises(ValueError, match="GJELD_POPULATION_REGISTER_FILE"):
            providers(
                settings(**{**outside.settings, "population_register_file": registry.folder.root / "x.json"}), http
            )
        channels, population = providers(settings(**outside.settings), http)
        assert type(channels).__name__ == "ProviderChannels" and type(population).__name__ == "RegisterContacts"
