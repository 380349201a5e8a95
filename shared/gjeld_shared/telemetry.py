"""OpenTelemetry for a service: one tracer provider per service, spans to a file or a collector.

Each service gets its own TracerProvider (not the process-global one), so that
several services can run in one test process and still report as themselves.
With OTEL_EXPORTER_OTLP_ENDPOINT set, spans go to that collector over OTLP;
otherwise they go to a local file in OTLP/JSON lines (in development `.data/traces/`),
which `gjeld trace` reads back as a tree.

Span attributes never hold identity numbers: the instrumentations record methods
and statements, not values, and our own spans carry only counts and ids.
Every log line, traceback included, is redacted as it is formatted, as a second
line of defence (DOM-15, redaction.py).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from .redaction import RedactingFormatter, redact


class OtlpJsonLinesExporter(SpanExporter):
    """Appends spans to a file in OTLP/JSON, one `ExportTraceServiceRequest` a line: the format of the
    OpenTelemetry Collector's file exporter, which standard tools read (trace and span ids in hex, enums as numbers).
    Each line is redacted like a log line before it is written (an exception event's text could hold a number)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        line = redact(json.dumps(otlp_json(spans), separators=(",", ":"))) + "\n"
        with self._lock, self._path.open("a", encoding="utf-8") as out:
            out.write(line)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """An `ExportTraceServiceRequest` in OTLP/JSON, written straight from the spans (the SDK's way, through the
    protobuf encoder and protobuf's JSON printer, took a tenth of every service's CPU under load)."""
    resources: dict[int, tuple[Any, dict[Any, list[dict[str, Any]]]]] = {}
    for span in spans:
        _, scopes = resources.setdefault(id(span.resource), (span.resource, {}))
        scopes.setdefault(span.instrumentation_scope, []).append(_span(span))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes(resource.attributes)},
                "scopeSpans": [
                    {"scope": {"name": scope.name, "version": scope.version or ""} if scope else {}, "spans": written}
                    for scope, written in scopes.items()
                ],
            }
            for resource, scopes in resources.values()
        ]
    }


def _span(span: ReadableSpan) -> dict[str, Any]:
    context = span.context
    written: dict[str, Any] = {
        "traceId": f"{context.trace_id:032x}",
        "spanId": f"{context.span_id:016x}",
        "name": span.name,
        "kind": span.kind.value + 1,  # OTLP's SPAN_KIND_* count from 1 (0 is unspecified)
        "startTimeUnixNano": str(span.start_time),
        "endTimeUnixNano": str(span.end_time),
    }
    if span.parent is not None:
        written["parentSpanId"] = f"{span.parent.span_id:016x}"
    if span.attributes:
        written["attributes"] = _attributes(span.attributes)
    if span.events:
        written["events"] = [
            {"timeUnixNano": str(e.timestamp), "name": e.name, "attributes": _attributes(e.attributes or {})}
            for e in span.events
        ]
    if span.links:
        written["links"] = [
            {
                "traceId": f"{link.context.trace_id:032x}",
                "spanId": f"{link.context.span_id:016x}",
                "attributes": _attributes(link.attributes or {}),
            }
            for link in span.links
        ]
    if span.status.status_code.value:  # OTLP's STATUS_CODE_OK is 1, ERROR 2, as the SDK's
        written["status"] = {"code": span.status.status_code.value, "message": span.status.description or ""}
    return written


def _attributes(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in attributes.items()]


def _value(value: Any) -> dict[str, Any]:
    """An attribute's value as OTLP/JSON writes it (64-bit integers as strings)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [_value(v) for v in value]}}
    return {"stringValue": str(value)}


def tracer_provider(
    service_name: str, trace_file: Path | None, extra_processors: Sequence[SpanProcessor] = ()
) -> TracerProvider:
    """The provider for one service: OTLP when configured, else the JSON-lines file."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name, "service.namespace": "gjeld"}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif trace_file is not None:
        provider.add_span_processor(BatchSpanProcessor(OtlpJsonLinesExporter(trace_file), schedule_delay_millis=500))
    for processor in extra_processors:
        provider.add_span_processor(processor)
    return provider


def current_trace_id() -> str:
    """The trace id of the current span as 32 hex digits, or "" outside a trace."""
    ctx = trace.get_current_span().get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid else ""


def configure_logging(service_name: str, level: str = "INFO") -> None:
    """Log to stderr with identity numbers masked in every line, tracebacks and stacks included; exceptions that
    nothing caught are logged the same way rather than printed raw by Python's last-resort hooks."""
    handler = _RedactingStreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(f"%(asctime)s {service_name} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request line at INFO; outside providers' URLs may name a person (Folkeregisteret's do).
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


class _RedactingStreamHandler(logging.StreamHandler[TextIO]):
    def handleError(self, record: logging.LogRecord) -> None:
        """Reports a line that could not be written (a bad format string, say) as logging does, redacted: logging's
        own report prints the record's arguments and the traceback to stderr as they are."""
        if not (logging.raiseExceptions and sys.stderr):
            return
        report = io.StringIO()
        error = sys.exc_info()[1]
        if error is not None:
            traceback.print_exception(error, file=report)
        report.write(f"Logged from {record.pathname}, line {record.lineno}: {record.msg!r} % {record.args!r}\n")
        try:
            sys.stderr.write(redact(f"--- Logging error ---\n{report.getvalue()}"))
        except OSError:
            pass


def _log_uncaught(kind: type[BaseException], error: BaseException, frames: TracebackType | None) -> None:
    logging.getLogger(__name__).critical("uncaught exception", exc_info=(kind, error, frames))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        logging.getLogger(__name__).critical(
            "uncaught exception in thread %s",
            args.thread.name if args.thread else "?",
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )
