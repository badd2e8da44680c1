"""Structured logs: one JSON object per line, in Cloud Logging's structured format.

Cloud Functions (2nd gen) ships every stdout line to Cloud Logging; a line that
is a JSON object becomes a structured entry whose special fields Cloud Logging
understands: `severity`, `message`, `logging.googleapis.com/trace`,
`logging.googleapis.com/spanId`, `logging.googleapis.com/trace_sampled` and
`logging.googleapis.com/labels`. Everything else passed as `extra={...}` lands
in `jsonPayload`.

Contract:
- `configure_logging(level)` once per process (the HTTP router and the event
  consumer call it on their first request); `logging.getLogger(__name__)`
  everywhere else, as usual.
- `log_context(trace=..., labels=...)` binds the request's trace and labels
  (function, route, event id...) to every line logged inside it, also from
  code that knows nothing about the request. `trace_from_headers` reads the
  trace from `X-Cloud-Trace-Context` or W3C `traceparent`.
- Personal data never reaches the log: every string (message, extras,
  exception text) passes through `redact`, which masks NIKs and NPWPs
  (`3174********0001`), bank account numbers (all but the last four digits),
  bearer tokens and JWTs; extras whose *key* names a secret or an identifier
  (`nik`, `npwp`, `account_number`, `token`, `authorization`, `password`,
  `secret`, `pii_key`...) are masked whatever their value. Log amounts as
  integer extras, not inside messages: a digit run of ten or more inside a
  message is treated as an account number.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Record attributes that the logging module sets itself; anything else is an `extra`.
_STANDARD_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))
) | {"message", "asctime", "taskName"}

# Cloud Logging's ALERT: a person must act now (ledger drift); above CRITICAL in Python.
ALERT = logging.CRITICAL + 10
logging.addLevelName(ALERT, "ALERT")

_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
    ALERT: "ALERT",
}


@dataclass(frozen=True)
class Trace:
    """A Cloud Trace position: the trace id, the span id, and whether it is sampled."""

    trace_id: str
    span_id: str | None = None
    sampled: bool = False


@dataclass(frozen=True)
class _Context:
    trace: Trace | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


# Per request (per thread / task), never shared between requests.
_CONTEXT: ContextVar[_Context] = ContextVar("patungan_log_context", default=_Context())  # noqa: B039


# --- redaction --------------------------------------------------------------------------------

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_OLD_NPWP = re.compile(r"(?<!\d)\d{2}\.\d{3}\.\d{3}\.\d-\d{3}\.\d{3}(?!\d)")
# 16 digits, optionally grouped by single spaces, dots or dashes (NIK, new NPWP, card-like).
_SIXTEEN_DIGITS = re.compile(r"(?<![\w-])\d(?:[ .-]?\d){15}(?![\w-])")
# Any other run of 10-20 digits: bank and virtual account numbers. Runs glued to letters or
# dashes (UUID groups, ids like `loan_123...`) are not account numbers and stay readable.
_ACCOUNT_DIGITS = re.compile(r"(?<![\w-])\d{10,20}(?![\w-])")

_SENSITIVE_KEY = re.compile(
    r"(?i)(nik|npwp|account_number|account_no|bank_account|authorization|token|password|"
    r"secret|pii_key|private_key|signature|cookie)"
)


def _mask_digits(text: str, keep_start: int, keep_end: int) -> str:
    digits = re.sub(r"\D", "", text)
    hidden = len(digits) - keep_start - keep_end
    return digits[:keep_start] + "*" * hidden + digits[len(digits) - keep_end :]


def redact(text: str) -> str:
    """`text` with every NIK, NPWP, account number, bearer token and JWT masked."""
    text = _JWT.sub("[redacted-jwt]", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted-token]", text)
    text = _OLD_NPWP.sub(lambda m: _mask_digits("0" + m.group(0), 4, 4), text)
    text = _SIXTEEN_DIGITS.sub(lambda m: _mask_digits(m.group(0), 4, 4), text)
    return _ACCOUNT_DIGITS.sub(lambda m: _mask_digits(m.group(0), 0, 4), text)


def redact_value(key: str, value: Any) -> Any:
    """A JSON-ready copy of `value` fit for the log (`key` is the field it sits under)."""
    if _SENSITIVE_KEY.search(key) and value is not None:
        return "[redacted]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        # A NIK or NPWP held as an int is still a NIK; no rupiah amount has 15 digits.
        return redact(str(value)) if 15 <= len(str(abs(value))) <= 20 else value
    if isinstance(value, Mapping):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(key, v) for v in value]
    return redact(str(value))


# --- formatting -------------------------------------------------------------------------------


class CloudLoggingFormatter(logging.Formatter):
    """Formats a record as one redacted JSON line in Cloud Logging's structured format.

    `project` turns trace ids into the full `projects/<p>/traces/<id>` names that
    Cloud Logging links to Cloud Trace.
    """

    def __init__(self, project: str | None = None) -> None:
        super().__init__()
        self.project = project

    def format(self, record: logging.LogRecord) -> str:
        context = _CONTEXT.get()
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": redact(record.getMessage()),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        if record.exc_info:
            entry["exception"] = redact("".join(traceback.format_exception(*record.exc_info)))
            # Error Reporting picks up entries whose message carries the stack trace.
            entry["message"] = f"{entry['message']}\n{entry['exception']}"
        if context.trace is not None:
            trace_name = context.trace.trace_id
            if self.project:
                trace_name = f"projects/{self.project}/traces/{context.trace.trace_id}"
            entry["logging.googleapis.com/trace"] = trace_name
            if context.trace.span_id:
                entry["logging.googleapis.com/spanId"] = context.trace.span_id
            entry["logging.googleapis.com/trace_sampled"] = context.trace.sampled
        if context.labels:
            entry["logging.googleapis.com/labels"] = {
                k: redact_value(k, v) for k, v in context.labels.items()
            }
        for key, value in vars(record).items():
            if key not in _STANDARD_RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = redact_value(key, value)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(
    level: str = "INFO", *, project: str | None = None, stream: Any = None
) -> None:
    """Send every log record to stdout (or `stream`) as structured JSON; idempotent.

    `project` turns trace ids into the full `projects/<p>/traces/<id>` names Cloud
    Logging links to traces. Replaces any handler this function installed before,
    and leaves other handlers (pytest's capture, for example) alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_patungan", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(CloudLoggingFormatter(project))
    handler._patungan = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


@contextlib.contextmanager
def log_context(
    *, trace: Trace | None = None, labels: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Bind `trace` and `labels` to every line logged inside the block (nested blocks merge)."""
    outer = _CONTEXT.get()
    token = _CONTEXT.set(
        _Context(
            trace=trace or outer.trace,
            labels={**outer.labels, **(labels or {})},
        )
    )
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the trace bound by `log_context`, to carry it across Pub/Sub."""
    trace = _CONTEXT.get().trace
    if trace is None:
        return None
    span = trace.span_id if trace.span_id and len(trace.span_id) == 16 else "0" * 15 + "1"
    return f"00-{trace.trace_id}-{span}-{'01' if trace.sampled else '00'}"


_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/(\d+))?(?:;o=([01]))?")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def trace_from_headers(headers: Mapping[str, str]) -> Trace | None:
    """The trace of an incoming request: W3C `traceparent` first, then `X-Cloud-Trace-Context`."""
    lowered = {k.lower(): v for k, v in headers.items()}
    parent = _TRACEPARENT.match(lowered.get("traceparent", "").strip())
    if parent and parent.group(1) != "0" * 32:
        return Trace(parent.group(1), parent.group(2), bool(int(parent.group(3), 16) & 1))
    cloud = _CLOUD_TRACE.match(lowered.get("x-cloud-trace-context", "").strip())
    if cloud:
        span = format(int(cloud.group(2)), "016x") if cloud.group(2) else None
        return Trace(cloud.group(1).lower(), span, cloud.group(3) == "1")
    return None
