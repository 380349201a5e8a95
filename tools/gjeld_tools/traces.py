"""Reading the development trace files back (OTLP/JSON lines, as the Collector's file exporter writes them): one
trace as a tree across services."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

ERROR = 2  # OTLP's STATUS_CODE_ERROR


def _value(attribute: dict[str, Any]) -> Any:
    """An OTLP attribute's value, whatever its type."""
    value = attribute.get("value", {})
    return next(iter(value.values()), None)


def spans_of(trace_id: str, folder: Path) -> list[dict[str, Any]]:
    """Every span of the trace in the folder's files, each as a flat record (ids, name, service, times, status,
    attributes)."""
    found: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if trace_id not in line:
                    continue
                for resource in json.loads(line).get("resourceSpans", ()):
                    attributes = resource.get("resource", {}).get("attributes", ())
                    service = next((_value(a) for a in attributes if a["key"] == "service.name"), None)
                    for scope in resource.get("scopeSpans", ()):
                        found.extend(
                            {
                                "trace_id": span["traceId"],
                                "span_id": span["spanId"],
                                "parent_span_id": span.get("parentSpanId") or None,
                                "name": span["name"],
                                "service": service,
                                "start_ns": int(span["startTimeUnixNano"]),
                                "end_ns": int(span["endTimeUnixNano"]),
                                "status": "ERROR" if span.get("status", {}).get("code") == ERROR else "OK",
                                "attributes": {a["key"]: _value(a) for a in span.get("attributes", ())},
                            }
                            for span in scope.get("spans", ())
                            if span["traceId"] == trace_id
                        )
    return found


def tree(spans: list[dict[str, Any]]) -> list[str]:
    """Lines of an indented tree: service, span name, duration; children in start order."""
    ids = {s["span_id"] for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        parent = span["parent_span_id"] if span["parent_span_id"] in ids else None
        children[parent].append(span)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in sorted(children[parent], key=lambda s: s["start_ns"]):
            millis = (span["end_ns"] - span["start_ns"]) / 1e6
            status = "" if span["status"] != "ERROR" else "  [error]"
            service = str(span.get("service") or "?").removeprefix("gjeld-")
            lines.append(f"{'  ' * depth}{service:<8} {span['name']}  {millis:.1f} ms{status}")
            walk(span["span_id"], depth + 1)

    walk(None, 0)
    return lines
