"""The Norwegian (NOGI) delivery format: the documented example round-trips through the registry unchanged,
and every refusal is named in the file's own terms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gjeld.ingest.v1 import ingest_service_pb2
from gjeld_tools import nogi, report
from gjeld_tools.testing import BANK, Registry

EXAMPLE = Path(nogi.__file__).parent / "nogi-example.json"


async def send(registry: Registry, path: Path, **options: Any) -> str:
    options.setdefault("snapshot", True)
    options.setdefault("partial", False)
    channel = registry.channel("ingest", registry.as_institution(BANK))  # the bank's enterprise certificate
    return await report.send(path, channel, BANK, **options)


async def read_back(registry: Registry) -> dict[str, Any]:
    debts, token = [], ""
    while True:
        page = await registry.ingest().ListDebts(
            ingest_service_pb2.ListDebtsRequest(page_token=token), metadata=registry.as_institution(BANK)
        )
        debts.extend(page.debts)
        if not (token := page.next_page_token):
            return nogi.delivery(BANK, debts)


async def test_the_documented_example_round_trips_unchanged(registry: Registry, tmp_path: Path) -> None:
    summary = await send(registry, EXAMPLE)
    assert "registered 2" in summary
    assert await read_back(registry) == json.loads(EXAMPLE.read_text())


async def test_sending_the_same_file_again_is_a_retry(registry: Registry) -> None:
    first = await send(registry, EXAMPLE)
    again = await send(registry, EXAMPLE)
    assert first.split("(delivery ")[1].split(")")[0] == again.split("(delivery ")[1].split(")")[0]


def bad_file(tmp_path: Path) -> Path:
    delivery = json.loads(EXAMPLE.read_text())
    loans = delivery["customers"][0]["loans"]
    del loans[1]["creditLimit"]
    loans[0]["balance"] = -5
    delivery["customers"].append(
        {"customerID": "14842249092", "financialInstitutionID": BANK, "loans": [dict(loans[0], accountID="X")]}
    )
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(delivery))
    return path


async def test_a_refused_file_names_each_bad_loan_by_its_place_and_nogi_field(
    registry: Registry, tmp_path: Path
) -> None:
    with pytest.raises(report.Refused) as refused:
        await send(registry, bad_file(tmp_path))
    text = str(refused.value)
    for where in ("customers[0].loans[0].balance", "customers[0].loans[1].creditLimit", "customers[1].customerID"):
        assert where in text
    assert "14842249092" not in text
    assert (await read_back(registry))["customers"] == []


async def test_a_partial_delivery_registers_the_good_loans_and_lists_the_bad(
    registry: Registry, tmp_path: Path
) -> None:
    summary = await send(registry, bad_file(tmp_path), partial=True, snapshot=False)
    assert "registered 0" in summary and "rejected 3" in summary
    assert "customers[0].loans[1].creditLimit: is required" in summary


def test_field_paths_translate_to_nogi_names() -> None:
    assert (
        nogi.location("debts[3].credit_facility.credit_limit.minor_units", 1, 2) == "customers[1].loans[2].creditLimit"
    )
    assert nogi.location("changes[3].register.repayment_loan.remaining_term_months", 0, 0) == (
        "customers[0].loans[0].terms"
    )
    assert nogi.location("changes[3].register.installment_charges", 0, 0) == "customers[0].loans[0].installmentCharges"
    assert nogi.location("debts[9]", 4, 1) == "customers[4].loans[1]"


async def test_a_customer_listed_twice_is_refused_as_the_live_registry_refuses_it(
    registry: Registry, tmp_path: Path
) -> None:
    # NOGI's rule: no duplicate customers (customerID and financialInstitutionID). Each loan of the second object
    # may be new, so no rule of the registry's own (the same account twice) would catch it.
    delivery = json.loads(EXAMPLE.read_text())
    first = delivery["customers"][0]
    delivery["customers"].append(dict(first, loans=[dict(first["loans"][0], accountID="OTHER-1")]))
    path = tmp_path / "twice.json"
    path.write_text(json.dumps(delivery))
    with pytest.raises(report.Refused) as refused:
        await send(registry, path)
    where = f"customers[{len(delivery['customers']) - 1}].customerID"
    assert where in str(refused.value) and first["customerID"] not in str(refused.value)
    assert (await read_back(registry))["customers"] == []
    # Partial: the customer's first listing is sent, the second left out and named.
    summary = await send(registry, path, partial=True)
    assert f"{where}: the same customer listed again, not sent" in summary
    assert "OTHER-1" not in json.dumps(await read_back(registry))


async def test_another_institutions_customer_is_refused_before_anything_is_kept(
    registry: Registry, tmp_path: Path
) -> None:
    delivery = json.loads(EXAMPLE.read_text())
    delivery["customers"][-1]["financialInstitutionID"] = "911222333"
    path = tmp_path / "theirs.json"
    path.write_text(json.dumps(delivery))
    with pytest.raises(report.Refused) as refused:
        await send(registry, path)
    assert f"customers[{len(delivery['customers']) - 1}].financialInstitutionID" in str(refused.value)
    assert (await read_back(registry))["customers"] == []
