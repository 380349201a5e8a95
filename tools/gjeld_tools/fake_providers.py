"""Fakes of the providers outside gjeld that notify and ingest call, shaped as their APIs are, for tests and
development: Folkeregisteret (names and addresses; where up to 1,000 persons live, at once), KRR (digital mailbox,
reservation, mobile), Digipost (signed digital mail), an SMS gateway and a print provider. One HTTP app serves them
all under /folkeregister, /krr, /digipost, /sms and /print; each checks its credential (a bearer token; Digipost a
signature by the sender's registered key) and deduplicates on the notice's id as the real ones do, and keeps what it
received for the test to read.

The people are the sandbox population (every synthetic number a synthetic person); `reserved` numbers have
reserved themselves in KRR against digital communication.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import re
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from gjeld_shared.sandbox import sandbox_person
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DIGIPOST_NUMBER = "984661185"  # the mailbox provider's organisation number, as KRR names it
BULK_LIMIT = 1000  # the most persons one of Folkeregisteret's bulk lookups takes


def _element(xml: bytes, name: str) -> str:
    found = re.search(rf"<{name}>(.*?)</{name}>".encode(), xml)
    return found.group(1).decode() if found else ""


@dataclass
class FakeProviders:
    token: str
    digipost_sender: str
    digipost_key: rsa.RSAPublicKey
    reserved: set[str] = field(default_factory=set)
    # What each provider received, in order; and every repeat it recognised by its idempotency key.
    digipost: list[dict[str, Any]] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)
    letters: list[dict[str, Any]] = field(default_factory=list)
    repeats: list[str] = field(default_factory=list)
    registry_calls: int = 0
    unavailable: int = 0  # how many bulk lookups to come are answered 503 (the register briefly down)
    reshaped: bool = False  # the bulk lookup answers in a shape of its own (as after an unannounced change)

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def person(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(status_code=401)
        self.registry_calls += 1
        found = sandbox_person(request.path_params["number"])
        if found is None:
            return Response(status_code=404)
        given, family = found.name.split(" ", 1)
        *street, place = found.postal_address
        postcode, town = place.split(" ", 1)
        return JSONResponse(
            {
                "navn": [{"fornavn": given, "etternavn": family, "erGjeldende": True}],
                "postadresse": [
                    {"adresselinje": street, "postnummer": postcode, "poststed": town, "erGjeldende": True}
                ],
            }
        )

    async def residences(self, request: Request) -> Response:
        """Folkeregisteret's bulk lookup (POST personer/bulkoppslag, at most 1,000 numbers), as much of each person
        as the parts asked for (`part=bostedsadresse`: the address they live at); a number it has nobody for is
        answered without a person."""
        if not self._authorised(request):
            return Response(status_code=401)
        self.registry_calls += 1
        if self.unavailable:  # briefly down: try again shortly
            self.unavailable -= 1
            return Response(status_code=503, headers={"Retry-After": "0"})
        if request.headers.get("accept") not in {"application/json", "application/xml"}:
            return Response(status_code=406)  # as the register answers an Accept naming neither
        numbers = (await request.json()).get("foedselsEllerDNummer", [])
        if not 1 <= len(numbers) <= BULK_LIMIT or request.query_params.getlist("part") != ["bostedsadresse"]:
            return Response(status_code=400)
        answers: list[dict[str, Any]] = []
        for number in numbers:
            found = sandbox_person(number)
            if found is None:
                answers.append({"foedselsEllerDNummer": number})
                continue
            street, place = found.postal_address
            address = {
                "adressenavn": street.rsplit(" ", 1)[0],
                "postnummer": place.split(" ", 1)[0],
                "kommunenummer": found.municipality,
            }
            answers.append(
                {
                    "foedselsEllerDNummer": number,
                    "folkeregisterperson": {"bostedsadresse": [{"erGjeldende": True, "vegadresse": address}]},
                }
            )
        return JSONResponse({"resultat" if self.reshaped else "oppslag": answers})

    async def krr(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(status_code=401)
        self.registry_calls += 1
        answers = []
        for number in (await request.json())["personidentifikatorer"]:
            found = sandbox_person(number)
            if found is None:
                answers.append({"personidentifikator": number, "status": "IKKE_REGISTRERT"})
                continue
            entry: dict[str, Any] = {
                "personidentifikator": number,
                "reservasjon": "JA" if number in self.reserved else "NEI",
                "status": "AKTIV",
                "varslingsstatus": "KAN_VARSLES" if found.mobile else "KAN_IKKE_VARSLES",
                "kontaktinformasjon": {"mobiltelefonnummer": found.mobile} if found.mobile else {},
            }
            if found.digital_mailbox:
                address = f"{found.name.lower().replace(' ', '.')}#{number[-4:]}"
                entry["digitalpost"] = {"postkasseadresse": address, "postkasseleverandoeradresse": DIGIPOST_NUMBER}
            answers.append(entry)
        return JSONResponse({"personer": answers})

    async def digipost_message(self, request: Request) -> Response:
        body = await request.body()
        headers = request.headers
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if headers.get("x-content-sha256") != digest or headers.get("x-digipost-userid") != self.digipost_sender:
            return Response(status_code=400)
        if abs(parsedate_to_datetime(headers.get("date", "")).timestamp() - time.time()) > 300:
            return Response(status_code=400)
        canonical = (
            f"POST\n{request.url.path}\ndate: {headers['date']}\nx-content-sha256: {digest}\n"
            f"x-digipost-userid: {self.digipost_sender}\n\n"
        )
        try:
            signature = base64.b64decode(headers.get("x-digipost-signature", ""))
            self.digipost_key.verify(signature, canonical.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return Response(status_code=403)
        whole = email.message_from_bytes(
            f"Content-Type: {headers['content-type']}\r\n\r\n".encode() + body, policy=email.policy.HTTP
        )
        parts = [bytes(part.get_payload(decode=True)) for part in whole.iter_parts()]
        xml, document = parts
        message_id, address = (_element(xml, name) for name in ("message-id", "digipost-address"))
        if any(m["message_id"] == message_id for m in self.digipost):
            self.repeats.append(message_id)
            return Response(status_code=409)
        self.digipost.append({"message_id": message_id, "address": address, "xml": xml, "pdf": document})
        return Response(status_code=201)

    async def sms_message(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(status_code=401)
        sent = await request.json()
        if any(s["reference"] == sent["reference"] for s in self.sms):
            self.repeats.append(sent["reference"])
            return Response(status_code=409)
        self.sms.append(sent)
        return JSONResponse({"id": sent["reference"]}, status_code=201)

    async def letter(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(status_code=401)
        key = request.headers.get("idempotency-key", "")
        if any(letter["key"] == key for letter in self.letters):
            self.repeats.append(key)
            return JSONResponse({"id": key})  # the letter already accepted
        sent = await request.json()
        self.letters.append({"key": key, **sent, "pdf": base64.b64decode(sent["document"])})
        return JSONResponse({"id": key}, status_code=201)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/folkeregister/api/v1/personer/bulkoppslag", self.residences, methods=["POST"]),
                Route("/folkeregister/api/v1/personer/{number}", self.person),
                Route("/krr/rest/v1/personer", self.krr, methods=["POST"]),
                Route("/digipost/messages", self.digipost_message, methods=["POST"]),
                Route("/sms/messages", self.sms_message, methods=["POST"]),
                Route("/print/letters", self.letter, methods=["POST"]),
            ]
        )
