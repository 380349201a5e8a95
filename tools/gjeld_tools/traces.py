"""Reading the development trace files back: one trace as a tree across services."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any


def spans_of(trace_id: str, folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if trace_id in line:
                    span = json.loads(line)
                    if span["trace_id"] == trace_id:
                        found.append(span)
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
