"""The whole story across the four services as separate processes, started the way `make up` starts them: every
call over TLS, the services calling each other with mutual TLS."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from gjeld_tools import devstack, traces
from gjeld_tools.demo import demo
from gjeld_tools.testing import CO_BORROWER, PERSON, fresh_database

pytestmark = pytest.mark.e2e


async def test_the_demo_story_across_four_processes(
    postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = devstack.DataFolder(tmp_path / "data")
    folder.ensure_secrets()
    suite = devstack.Suite(
        folder,
        postgres,
        database=await fresh_database(postgres),
        listen={s: dict.fromkeys(devstack.LISTENERS, "127.0.0.1:0") for s in devstack.SERVICES},
        log_dir=tmp_path,
    )
    addresses = await asyncio.to_thread(suite.start)
    assert len({suite.processes[s].pid for s in devstack.SERVICES}) == 4
    monkeypatch.setenv("GJELD_DATA", str(folder.root))
    for service, listeners in addresses.items():
        monkeypatch.setenv(f"GJELD_{service.upper()}_ADDRESS", listeners["certificate"])
        monkeypatch.setenv(f"GJELD_{service.upper()}_TOKEN_ADDRESS", listeners["token"])
    try:
        assert await demo() == 0
    finally:
        codes = await asyncio.to_thread(suite.stop)
    told = capsys.readouterr().out
    # Graceful shutdown on SIGTERM: every service drains and exits cleanly.
    assert codes == {s: 0 for s in devstack.SERVICES}, (told, codes)

    # The lookup is one trace across lookup, consent and ingest, written to the trace files.
    trace_id = re.search(r"disclosure \S+, trace ([0-9a-f]{32})", told)
    assert trace_id, told
    spans = traces.spans_of(trace_id.group(1), folder.traces)
    assert {s["service"] for s in spans} == {"gjeld-lookup", "gjeld-consent", "gjeld-ingest"}
    assert any(s["name"] == "record disclosure" and s["service"] == "gjeld-lookup" for s in spans)
    tree = traces.tree(spans)
    assert tree[0].startswith("lookup") and "LookUpDebt" in tree[0]

    # DOM-15: no identity number in any trace file or log of the four services.
    written = "".join(p.read_text() for p in [*folder.traces.glob("*.jsonl"), *tmp_path.glob("*.log")])
    assert PERSON not in written and CO_BORROWER not in written
    assert "CONSENT_WITHDRAWN" in told and "The story is told." in told
