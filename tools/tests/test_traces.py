"""The development trace files are OTLP/JSON lines (the Collector's file exporter's format), and `gjeld trace`
reads them back as a tree."""

from __future__ import annotations

import json
from pathlib import Path

from gjeld_shared.telemetry import tracer_provider
from gjeld_tools import traces


def test_spans_are_written_as_otlp_json_and_read_back(tmp_path: Path) -> None:
    folder = tmp_path / "traces"
    provider = tracer_provider("gjeld-lookup", folder / "lookup.jsonl")
    tracer = provider.get_tracer(__name__)
    with tracer.start_as_current_span("LookUpDebt") as parent:
        with tracer.start_as_current_span("UseConsent") as child:
            child.set_attribute("note", "asked about 14842249091")  # never written as such
    provider.shutdown()
    trace_id = f"{parent.get_span_context().trace_id:032x}"
    line = json.loads((folder / "lookup.jsonl").read_text().splitlines()[0])
    [resource] = line["resourceSpans"]
    assert {"key": "service.name", "value": {"stringValue": "gjeld-lookup"}} in resource["resource"]["attributes"]
    written = resource["scopeSpans"][0]["spans"]
    assert {s["traceId"] for s in written} == {trace_id}  # hex, as OTLP/JSON writes ids
    assert "14842249091" not in json.dumps(line)
    spans = traces.spans_of(trace_id, folder)
    assert [s["span_id"] for s in spans if s["name"] == "UseConsent"] == [f"{child.get_span_context().span_id:016x}"]
    assert traces.tree(spans)[0].startswith("lookup   LookUpDebt") and "UseConsent" in traces.tree(spans)[1]
