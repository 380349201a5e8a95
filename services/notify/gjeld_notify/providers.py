"""The providers outside gjeld that notices depend on, as their APIs are shaped; each has a development twin in
adapters.py (the sandbox population, files under the mailbox folder), and production uses only these (bootstrap.py).

- the population register (Folkeregisteret): a person's name and postal address;
- the contact and reservation register (KRR, Digdir's Oppslagstjenesten): whether a person has a digital mailbox
  and has not reserved themselves against digital communication, and their mobile number if they may be notified;
- a digital mailbox (Digipost's API: a signed multipart request with the letter as PDF);
- e-mail through an SMTP relay, only to the address the person consented to;
- SMS through an HTTP gateway, saying only that a letter has come;
- post through a print provider (the PDF and the address it is printed and posted to).

Each call has a deadline, and each send carries the notice's id as the provider's idempotency key: a notice sent
again after a crash is delivered once, and the provider's "already have it" counts as delivered. Registers and
gateways take a bearer token read from a file on each call (a Maskinporten or provider token, kept fresh by the
platform, e.g. a sidecar); Digipost requests are signed with the sender's key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from gjeld_shared.providers import ProviderRefused, bearer, checked

from .adapters import email_message
from .domain import Channel, Contact, Message


class RegisterContacts:
    """A person's contact details from the population register and KRR, as the delivery worker needs them. A
    digital mailbox counts only at the provider gjeld sends through (`mailbox_provider`, its organisation number),
    addressed by the mailbox address KRR gives: the mailbox provider is never sent the identity number."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        population_url: str,
        contact_register_url: str,
        token_file: Path,
        mailbox_provider: str,
    ) -> None:
        self._http, self._population, self._krr, self._token = http, population_url, contact_register_url, token_file
        self._mailbox_provider = mailbox_provider

    async def contact(self, identity_number: str) -> Contact:
        try:
            person, krr = await asyncio.gather(self._person(identity_number), self._krr_entry(identity_number))
        except (httpx.HTTPError, ValueError) as error:  # their text may hold the URL, which names the person
            raise ProviderRefused(f"a register could not be read: {type(error).__name__}") from None
        name, address = person
        active = krr.get("status") == "AKTIV"
        willing = active and krr.get("reservasjon") == "NEI"  # reserved: paper only
        post_box = krr.get("digitalpost", {})
        reachable = post_box.get("postkasseleverandoeradresse") == self._mailbox_provider
        mailbox = str(post_box.get("postkasseadresse", "")) if willing and reachable else ""
        may_notify = willing and krr.get("varslingsstatus") == "KAN_VARSLES"
        mobile = krr.get("kontaktinformasjon", {}).get("mobiltelefonnummer", "") if may_notify else ""
        return Contact(name, address, digital_mailbox=bool(mailbox), mobile=mobile, mailbox_address=mailbox)

    async def _person(self, identity_number: str) -> tuple[str, tuple[str, ...]]:
        reply = await self._http.get(
            f"{self._population}/api/v1/personer/{identity_number}", headers=bearer(self._token)
        )
        if reply.status_code == 404:
            return "", ()
        document = checked(reply, "the population register").json()
        name: dict[str, Any] = next((n for n in document.get("navn", []) if n.get("erGjeldende")), {})
        address: dict[str, Any] = next((a for a in document.get("postadresse", []) if a.get("erGjeldende")), {})
        lines = [*address.get("adresselinje", []), f"{address.get('postnummer', '')} {address.get('poststed', '')}"]
        full_name = " ".join(
            part for part in (name.get("fornavn"), name.get("mellomnavn"), name.get("etternavn")) if part
        )
        return full_name, tuple(line.strip() for line in lines if line.strip())

    async def _krr_entry(self, identity_number: str) -> dict[str, Any]:
        reply = await self._http.post(
            f"{self._krr}/rest/v1/personer",
            json={"personidentifikatorer": [identity_number]},
            headers=bearer(self._token),
        )
        people = checked(reply, "the contact register").json().get("personer", [])
        return next((p for p in people if p.get("personidentifikator") == identity_number), {})


class DigipostMailbox:
    """Digital mail through Digipost's API: POST /messages, multipart (the message as XML, then the PDF), signed
    with the sender's RSA key over the method, path, date, content digest and sender id. The notice's id is the
    message-id; a message-id Digipost already has is answered 409 and counts as delivered."""

    MEDIA_TYPE = "application/vnd.digipost-v8+xml"

    def __init__(self, http: httpx.AsyncClient, url: str, sender_id: str, key_file: Path) -> None:
        self._http, self._url, self._sender = http, url.rstrip("/"), sender_id
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey), "Digipost signs with RSA"
        self._key = key

    def _body(self, notice_id: uuid.UUID, mailbox_address: str, message: Message) -> tuple[bytes, str]:
        document = uuid.uuid5(notice_id, "primary-document")
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?><message xmlns="http://api.digipost.no/schema/v8">'
            f"<message-id>{notice_id}</message-id><recipient><digipost-address>{escape(mailbox_address)}"
            f"</digipost-address></recipient><primary-document><uuid>{document}</uuid>"
            f"<subject>{escape(message.title)}</subject><file-type>pdf</file-type>"
            f"<authentication-level>TWO_FACTOR</authentication-level><sensitivity-level>SENSITIVE</sensitivity-level>"
            f"</primary-document></message>"
        ).encode()
        boundary = uuid.uuid4().hex
        parts = [
            (f'Content-Type: {self.MEDIA_TYPE}\r\nContent-Disposition: attachment; filename="message"', xml),
            (
                f"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename={document}",
                message.pdf,
            ),
        ]
        body = b"".join(f"--{boundary}\r\n{head}\r\n\r\n".encode() + content + b"\r\n" for head, content in parts)
        return body + f"--{boundary}--\r\n".encode(), f"multipart/vnd.digipost-v8+xml; boundary={boundary}"

    def signed_headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        date = formatdate(usegmt=True)
        canonical = f"{method}\n{path}\ndate: {date}\nx-content-sha256: {digest}\nx-digipost-userid: {self._sender}\n\n"
        signature = self._key.sign(canonical.encode(), padding.PKCS1v15(), hashes.SHA256())
        return {
            "X-Digipost-UserId": self._sender,
            "Date": date,
            "X-Content-SHA256": digest,
            "X-Digipost-Signature": base64.b64encode(signature).decode(),
            "Accept": self.MEDIA_TYPE,
        }

    async def deliver(self, notice_id: uuid.UUID, mailbox_address: str, message: Message) -> None:
        body, content_type = self._body(notice_id, mailbox_address, message)
        url = f"{self._url}/messages"
        headers = {**self.signed_headers("POST", urlsplit(url).path, body), "Content-Type": content_type}
        reply = await self._http.post(url, content=body, headers=headers)
        if reply.status_code != 409:  # 409: this message-id was delivered before
            checked(reply, "Digipost")


class SmsGateway:
    """Text messages through an HTTP gateway (POST /messages with JSON); the notice's id is the reference the gateway
    deduplicates on (a repeat is answered 409). The text says only that a letter has come."""

    def __init__(self, http: httpx.AsyncClient, url: str, token_file: Path, sender: str) -> None:
        self._http, self._url, self._token, self._sender = http, url.rstrip("/"), token_file, sender

    async def deliver(self, notice_id: uuid.UUID, mobile: str, message: Message) -> None:
        request = {"to": mobile, "from": self._sender, "text": message.sms, "reference": str(notice_id)}
        reply = await self._http.post(f"{self._url}/messages", json=request, headers=bearer(self._token))
        if reply.status_code != 409:
            checked(reply, "the SMS gateway")


class PrintProvider:
    """Letters by post through a print provider (POST /letters: the PDF, and the address it is posted to), with the
    notice's id as its Idempotency-Key: a repeat returns the letter already accepted."""

    def __init__(self, http: httpx.AsyncClient, url: str, token_file: Path) -> None:
        self._http, self._url, self._token = http, url.rstrip("/"), token_file

    async def deliver(self, notice_id: uuid.UUID, contact: Contact, message: Message) -> None:
        request = {
            "recipient": {"name": contact.name, "address_lines": list(contact.postal_address), "country": "NO"},
            "document": base64.b64encode(message.pdf).decode(),
            "print": {"color": False, "duplex": True, "class": "B"},
        }
        headers = {**bearer(self._token), "Idempotency-Key": str(notice_id)}
        checked(await self._http.post(f"{self._url}/letters", json=request, headers=headers), "the print provider")


class SmtpEmail:
    """E-mail over SMTP (STARTTLS when `starttls` is set), only ever to the address the person consented to."""

    def __init__(self, host: str, port: int, sender: str, starttls: bool, timeout: float) -> None:
        self._host, self._port, self._sender, self._starttls, self._timeout = host, port, sender, starttls, timeout

    async def deliver(self, notice_id: uuid.UUID, email: str, message: Message) -> None:
        if not email:
            raise ValueError("the SMTP channel carries e-mail to a consented address only")
        await asyncio.to_thread(self._send, email_message(notice_id, self._sender, email, message))

    def _send(self, mail: EmailMessage) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as relay:
            if self._starttls:
                relay.starttls(context=ssl.create_default_context())
            relay.send_message(mail)


class ProviderChannels:
    """The configured providers, one per channel: what `Notices` sends through (the `Channels` protocol)."""

    def __init__(
        self,
        mailbox: DigipostMailbox | None = None,
        email: SmtpEmail | None = None,
        sms: SmsGateway | None = None,
        post: PrintProvider | None = None,
    ) -> None:
        self.mailbox, self.email, self.sms, self.post = mailbox, email, sms, post

    @property
    def configured(self) -> set[Channel]:
        provided: dict[Channel, object] = {
            Channel.DIGITAL_MAILBOX: self.mailbox,
            Channel.EMAIL: self.email,
            Channel.SMS: self.sms,
            Channel.POST: self.post,
        }
        return {channel for channel, provider in provided.items() if provider is not None}

    async def send(
        self, channel: Channel, notice_id: uuid.UUID, recipient_key: str, contact: Contact, email: str, message: Message
    ) -> None:
        try:
            await self._send(channel, notice_id, contact, email, message)
        except httpx.HTTPError as error:  # its text may hold a URL or header: the notice keeps only what failed
            raise ProviderRefused(
                f"the {channel.value} provider could not be reached: {type(error).__name__}"
            ) from None

    async def _send(
        self, channel: Channel, notice_id: uuid.UUID, contact: Contact, email: str, message: Message
    ) -> None:
        if channel is Channel.DIGITAL_MAILBOX and self.mailbox is not None and contact.mailbox_address:
            await self.mailbox.deliver(notice_id, contact.mailbox_address, message)
        elif channel is Channel.EMAIL and self.email is not None:
            await self.email.deliver(notice_id, email, message)
        elif channel is Channel.SMS and self.sms is not None and contact.mobile:
            await self.sms.deliver(notice_id, contact.mobile, message)
        elif channel is Channel.POST and self.post is not None and contact.postal_address:
            await self.post.deliver(notice_id, contact, message)
        else:
            raise ProviderRefused(f"no provider can carry this notice by {channel.value}")
