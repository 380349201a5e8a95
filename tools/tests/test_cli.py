"""The `gjeld` command's main paths against the registry, over TLS, as a person at a terminal uses them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from gjeld.ingest.v1 import ingest_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_tools import cli
from gjeld_tools.testing import BANK, LENDER, PERSON, Registry

OTHER = "922333444"  # Vidda Finans AS

DELIVERY = Path(cli.__file__).parent / "demo-delivery.json"
Gjeld = Callable[..., Awaitable[tuple[int, str]]]


@pytest.fixture
def gjeld(registry: Registry, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Gjeld:
    """Runs `gjeld ARGS…` against the test's registry and its development secrets; returns (exit code, output)."""
    monkeypatch.setenv("GJELD_DATA", str(registry.folder.root))
    for service, listeners in registry.listeners.items():
        monkeypatch.setenv(f"GJELD_{service.upper()}_ADDRESS", listeners["certificate"])
        monkeypatch.setenv(f"GJELD_{service.upper()}_TOKEN_ADDRESS", listeners["token"])

    async def run(*args: str) -> tuple[int, str]:
        # The command runs its own event loop, so in a thread beside the services' loop.
        code = await asyncio.to_thread(cli.main, list(args))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


async def test_a_delivery_a_consent_a_lookup_and_the_persons_own_view(gjeld: Gjeld) -> None:
    run = gjeld
    code, out = await run("report", str(DELIVERY), "--snapshot")
    assert code == 0 and "registered 4" in out, out
    code, out = await run("consent", "grant", LENDER, "--days", "28", "--as-subject", PERSON)
    assert code == 0, out
    consent_id = re.search(r"consent (\S+) for", out).group(1)  # type: ignore[union-attr]
    code, out = await run("lookup", PERSON, "--as-institution", LENDER, "--reference", "APP-1")
    assert code == 0 and "charge card" in out and "Fjordbanken" not in out, out  # DOM-5: no creditor names
    code, out = await run("my", "debt", "--as-subject", PERSON)
    assert code == 0 and "Fjordbanken ASA" in out, out
    code, out = await run("my", "consents", "--as-subject", PERSON)
    assert code == 0 and "used 1 time(s)" in out, out
    code, out = await run("my", "disclosures", "--as-subject", PERSON)
    assert code == 0 and "Nordlys Kreditt AS" in out, out
    code, out = await run("consent", "withdraw", consent_id, "--as-subject", PERSON)
    assert code == 0 and "WITHDRAWN" in out, out
    code, out = await run("lookup", PERSON, "--as-institution", LENDER)
    assert code == 1 and "CONSENT_WITHDRAWN" in out, out


async def test_a_refusal_and_a_missing_identity_are_said_plainly(gjeld: Gjeld) -> None:
    run = gjeld
    code, out = await run("my", "debt")
    assert code == 1 and "say who you are" in out
    # An institution's own token and certificate do not make it the person.
    code, out = await run("my", "debt", "--as-institution", BANK)
    assert code == 1 and "SUBJECTS_ONLY" in out, out


async def test_development_certificates_and_tokens(gjeld: Gjeld, registry: Registry) -> None:
    run = gjeld
    code, out = await run("cert", "institution", LENDER)
    assert code == 0 and str(registry.folder.pki.institution(LENDER).certificate_file) in out
    code, out = await run("token", "subject", PERSON, "--api", "lookup")
    token = out.strip()
    assert code == 0 and token.count(".") == 2 and PERSON not in token  # the number is inside, base64-encoded
    code, out = await run("my", "debt", "--token", token)
    assert code == 0 and "creditors asked live" in out, out


async def test_an_extract_from_the_live_registrys_list_file(gjeld: Gjeld, tmp_path: Path) -> None:
    run = gjeld
    await run("report", str(DELIVERY), "--snapshot")
    listed = tmp_path / f"{BANK}.txt"
    listed.write_text(f"{PERSON}\n01838501393\nnot a number\n")
    code, out = await run("extract", "order", str(listed), "--as-institution", LENDER)
    assert code == 1 and "named after the institution" in out, out
    code, out = await run("extract", "order", str(listed), "--as-institution", BANK)
    assert code == 0 and "ordered" in out and "listed 3, invalid 1" in out and PERSON not in out, out
    order_id = re.search(r"order (\S+) for", out).group(1)  # type: ignore[union-attr]
    code, out = await run("extract", "round", "--as-operator", "ops-1")
    assert code == 0 and "1 packages" in out and "customers 1, not customers 1" in out, out
    package = tmp_path / "package.json.gz"
    code, out = await run("extract", "download", order_id, "--out", str(package), "--as-institution", BANK)
    assert code == 0 and "matches the manifest" in out and package.stat().st_size > 0, out
    code, out = await run("extract", "delete", order_id, "--as-institution", BANK)
    assert code == 0 and "deleted" in out, out
    code, out = await run("extract", "download", order_id, "--out", str(package), "--as-institution", BANK)
    assert code == 1 and "EXTRACT_PACKAGE_DELETED" in out, out


async def test_a_correction_asked_forwarded_and_answered(gjeld: Gjeld, registry: Registry) -> None:
    run = gjeld
    await run("report", str(DELIVERY), "--snapshot")
    # The card came to Vidda Finans from Fjordbanken: where an error in it may have arisen.
    proposed = await registry.ingest().ProposeHandover(
        ingest_service_pb2.ProposeHandoverRequest(
            receiver=identity_pb2.OrganizationNumber(value=OTHER), account_ids=["CARD-7"]
        ),
        metadata=registry.as_institution(BANK),
    )
    await registry.ingest().AcceptHandover(
        ingest_service_pb2.AcceptHandoverRequest(id=proposed.handover.id), metadata=registry.as_institution(OTHER)
    )
    code, out = await run(
        "correction", "request", OTHER, "CARD-7", "--reason", "Kortet er sagt opp.", "--as-subject", PERSON
    )
    assert code == 0 and f"open, owned by {OTHER}" in out and "Vidda Finans AS" in out, out
    correction_id = re.search(r"correction (\S+):", out).group(1)  # type: ignore[union-attr]
    code, out = await run("my", "debt", "--as-subject", PERSON)
    assert code == 0 and "DISPUTED" in out, out
    code, out = await run("correction", "feed", "--as-institution", OTHER)
    assert code == 0 and "received" in out and "Kortet er sagt opp." in out and "after position 1" in out, out
    code, out = await run("correction", "answer", correction_id, "--forward", LENDER, "--as-institution", OTHER)
    assert code == 1 and "forwarded.institution.value" in out, out
    code, out = await run("correction", "answer", correction_id, "--forward", BANK, "--as-institution", OTHER)
    assert code == 0 and f"owned by {BANK} (forwarded by {OTHER})" in out, out
    code, out = await run("correction", "answer", correction_id, "--reject", "Riktig.", "--as-institution", OTHER)
    assert code == 1 and "CORRECTION_NOT_FOUND" in out, out
    code, out = await run("correction", "answer", correction_id, "--reject", "Riktig.", "--as-institution", BANK)
    assert code == 0 and "rejected" in out, out
    code, out = await run("correction", "list", "--as-subject", PERSON)
    assert code == 0 and "answer: Riktig." in out, out
    code, out = await run("correction", "overdue", "--as-operator", "ops-1")
    assert code == 0 and out.strip() == "", out


async def test_the_disclosure_log_verifies_against_its_checkpoints(gjeld: Gjeld, registry: Registry) -> None:
    from gjeld_tools import devstack
    from gjeld_tools.testing import eventually, grant, look_up, report_demo

    await report_demo(registry)
    await grant(registry)
    await look_up(registry)
    checkpoints = registry.folder.root / "audit" / "checkpoints.jsonl"
    await eventually(lambda: _exists(checkpoints))
    url = devstack.database_url(registry.socket, "lookup", registry.database)
    code, out = await gjeld("audit", "verify", "--database-url", url)
    assert code == 0 and "1 entries" in out and "as signed" in out, out


async def _exists(path: Path) -> bool:
    return path.exists() and bool(path.read_text().strip())
