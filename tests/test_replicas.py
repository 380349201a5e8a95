"""Two replicas of every service against one database, as Kubernetes runs them: two processes each, started the way
`make up` starts them, every call over TLS. What one replica would do once, two still do once: a bank's daily
snapshot is fetched once, every copy letter is delivered once, the consent feed's positions have no gaps (DOM-10's
feed), and a replica that is stopped (SIGTERM) leaves its work to the other."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from gjeld_notify.adapters import DevelopmentChannels
from gjeld_tools import devstack, synthetic
from gjeld_tools.dev_pki import REGISTRY_ORGANIZATION
from gjeld_tools.fake_bank import FakeBank, serve
from gjeld_tools.testing import BANK, LENDER, CollectedSpans, Registry, eventually, fresh_database, grant, look_up

pytestmark = pytest.mark.e2e


class CountingBank(FakeBank):
    """The fake bank, counting the exports it completed (the daily snapshots it was asked for and gave)."""

    def __init__(self, debts: list[Any]) -> None:
        super().__init__(debts, REGISTRY_ORGANIZATION)
        self.exports = 0

    async def ExportDebts(self, request: Any, context: Any) -> AsyncIterator[Any]:
        async for message in super().ExportDebts(request, context):
            yield message
        self.exports += 1


async def test_two_replicas_of_each_service_do_each_piece_of_work_once(
    postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    debts = synthetic.portfolio(50, seed=7, extract_time=datetime.now(UTC))
    persons = list(dict.fromkeys(d.debtor.value for d in debts))
    one, two = devstack.DataFolder(tmp_path / "one"), devstack.DataFolder(tmp_path / "two")
    one.ensure_secrets()
    # The replicas mount the same secrets, and letters go to one mailbox provider, which tells repeats apart.
    shutil.copytree(one.secrets, two.secrets)
    one.mailbox.mkdir(parents=True)
    two.mailbox.symlink_to(one.mailbox)

    # The bank's systems are down until both replicas run, so both are asking when it comes back; then it takes a
    # second over its export, so a replica that asks meanwhile finds the other at it.
    bank = CountingBank(debts)
    bank.failing, bank.delay = True, 1.0
    bank_server, bank_port = await serve(bank, one.pki.bank("fake-bank"), one.pki.enterprise_ca)
    document = json.loads(devstack.INSTITUTIONS_FILE.read_text())
    for entry in document["institutions"]:
        entry.pop("creditor_endpoint", None)
        if entry["organization_number"] == BANK:
            entry.update(creditor_endpoint=f"127.0.0.1:{bank_port}", fetch_snapshot=True)
    institutions = tmp_path / "institutions.json"
    institutions.write_text(json.dumps(document))
    monkeypatch.setenv("GJELD_SNAPSHOT_FETCH_TIME_UTC", "00:00")  # the day's round is due from the start
    monkeypatch.setenv("GJELD_SNAPSHOT_FETCH_INTERVAL_SECONDS", "0.2")
    # Both notify replicas look for due letters all the time, so that both reach for the same ones.
    monkeypatch.setenv("GJELD_DELIVERY_INTERVAL_SECONDS", "0.02")

    database = await fresh_database(postgres)
    suites = [
        devstack.Suite(
            folder,
            postgres,
            database=database,
            listen={s: dict.fromkeys(devstack.LISTENERS, "127.0.0.1:0") for s in devstack.SERVICES},
            institutions_file=institutions,
            log_dir=folder.root,
        )
        for folder in (one, two)
    ]
    registries = []
    try:
        for suite in suites:
            await asyncio.to_thread(suite.start)
            registry = Registry(suite.folder, CollectedSpans(), postgres, database)
            registry.listeners = suite.addresses
            registries.append(registry)
        assert len({p.pid for suite in suites for p in suite.processes.values()}) == 8

        # A bank's daily snapshot: fetched once, though both ingest replicas ask every 0.2 s.
        bank.failing = False
        applied = (
            f"SELECT count(*) AS n FROM ingest.deliveries WHERE creditor = '{BANK}'"
            " AND request_id LIKE 'registry:daily-%'"
        )
        await eventually(lambda: _count(registries[0], applied), timeout=30)
        await asyncio.sleep(2.0)  # ten more rounds of each replica
        assert bank.exports == 1
        assert await _count(registries[0], applied) == 1

        # Consents granted at both consent replicas at once, then lookups at both lookup replicas at once; their
        # letters relayed and delivered while both replicas of lookup and notify run.
        await asyncio.gather(*(grant(registries[n % 2], person) for n, person in enumerate(persons)))
        mailbox = DevelopmentChannels(one.mailbox)
        half = len(persons) // 2
        await _look_up(registries, persons[:half])
        await _delivered(mailbox, half)

        # Then the first replica of every service stops (a rolling deploy) while letters are still pending (the
        # merge window is 3 s): it exits cleanly, and the second delivers what it had not.
        await _look_up(registries, persons[half:])
        codes = await asyncio.to_thread(suites[0].stop)
        assert codes == {s: 0 for s in devstack.SERVICES}
        await _delivered(mailbox, len(persons))

        # The lender's consent feed: each grant and each use has a position, and no position is missing.
        rows = await registries[1].fetch(
            f"SELECT position FROM consent.consent_events WHERE institution = '{LENDER}' ORDER BY position"
        )
        assert [r["position"] for r in rows] == list(range(1, 2 * len(persons) + 1))
    finally:
        for registry in registries:
            await registry.close()
        for suite in suites:
            await asyncio.to_thread(suite.stop)
        await bank_server.stop(None)


async def _count(registry: Registry, sql: str) -> int:
    [row] = await registry.fetch(sql)
    return int(row["n"])


async def _look_up(registries: list[Registry], persons: list[str]) -> None:
    """Each person looked up once by the lender, at the two lookup replicas in turn, all at once."""
    answers = await asyncio.gather(*(look_up(registries[n % 2], person) for n, person in enumerate(persons)))
    assert all(answer.disclosure.id and answer.debts for answer in answers)


async def _delivered(mailbox: DevelopmentChannels, letters: int) -> None:
    """Wait for `letters` copy letters in the mailbox, and a moment more: each delivered once, none repeated."""

    async def arrived() -> bool:
        return len(mailbox.deliveries()) >= letters

    await eventually(arrived, timeout=60)
    await asyncio.sleep(1.0)  # a second send, if any, would come now
    assert sorted(mailbox.deliveries()) == sorted(set(mailbox.deliveries()))
    assert len(mailbox.deliveries()) == letters
    assert mailbox.duplicates() == []
