"""Structured logs in Cloud Logging's format that never carry NIK, NPWP, tokens or full
account numbers."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from shared.log import (
    configure_logging,
    current_traceparent,
    log_context,
    redact,
    trace_from_headers,
)

NIK = "3174051204900001"
NPWP_OLD = "01.234.567.8-012.345"
ACCOUNT = "1234567890"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJlLWJ5dGVz"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def lines() -> Iterator[Any]:
    """The lines this test logs. The handler sits on the root logger and so also hears other
    threads (a local platform's scheduler and its HTTP client, left running by earlier tests
    of the session); only the test's own thread counts."""
    stream = io.StringIO()
    configure_logging("DEBUG", project="patungan-p2p-prod", stream=stream)
    [handler] = [h for h in logging.getLogger().handlers if getattr(h, "_patungan", False)]
    test_thread = threading.get_ident()
    handler.addFilter(lambda record: record.thread == test_thread)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield read
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_patungan", False):
            root.removeHandler(handler)


def test_a_line_is_one_json_object_with_severity_message_and_time(lines):
    logging.getLogger("patungan.test").warning(
        "loan %s submitted", "loan-1", extra={"principal": 5_000_000}
    )

    [entry] = lines()
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "loan loan-1 submitted"
    assert entry["principal"] == 5_000_000
    assert entry["logger"] == "patungan.test"
    assert entry["time"].endswith("+00:00")


def test_the_request_trace_and_labels_join_every_line(lines):
    headers = {"X-Cloud-Trace-Context": f"{TRACE}/1;o=1"}
    with log_context(trace=trace_from_headers(headers), labels={"function": "users"}):
        logging.getLogger("deep.inside.a.service").info("something happened")
    logging.getLogger("outside").info("after the request")

    inside, outside = lines()
    assert inside["logging.googleapis.com/trace"] == f"projects/patungan-p2p-prod/traces/{TRACE}"
    assert inside["logging.googleapis.com/spanId"] == "0000000000000001"
    assert inside["logging.googleapis.com/trace_sampled"] is True
    assert inside["logging.googleapis.com/labels"] == {"function": "users"}
    assert "logging.googleapis.com/trace" not in outside


def test_traceparent_is_preferred_and_travels_on_to_published_events():
    trace = trace_from_headers(
        {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01", "X-Cloud-Trace-Context": "a" * 32}
    )
    assert trace is not None
    assert (trace.trace_id, trace.span_id, trace.sampled) == (TRACE, "00f067aa0ba902b7", True)
    with log_context(trace=trace):
        assert current_traceparent() == f"00-{TRACE}-00f067aa0ba902b7-01"
    assert current_traceparent() is None


@pytest.mark.parametrize(
    "headers", [{}, {"traceparent": "garbage"}, {"X-Cloud-Trace-Context": "not-a-trace"}]
)
def test_missing_or_malformed_trace_headers_mean_no_trace(headers):
    assert trace_from_headers(headers) is None


@pytest.mark.parametrize(
    ("text", "secret", "masked"),
    [
        (f"nik {NIK} rejected", NIK, "3174********0001"),
        ("nik 3174 0512 0490 0001 rejected", "3174 0512 0490 0001", "3174********0001"),
        (f"npwp {NPWP_OLD}", NPWP_OLD, "0012********2345"),
        (f"account {ACCOUNT} credited", ACCOUNT, "******7890"),
        (f"Authorization: Bearer {JWT}", JWT, "[redacted"),
        (f"token={JWT}", JWT, "[redacted-jwt]"),
        ("Authorization: bearer abc.def-opaque_token", "abc.def-opaque_token", "[redacted-token]"),
    ],
)
def test_personal_data_and_credentials_are_masked(lines, text, secret, masked):
    assert secret not in redact(text)
    assert masked in redact(text)
    logging.getLogger("x").info(text)
    [entry] = lines()
    assert secret not in json.dumps(entry)


def test_identifiers_and_amounts_stay_readable():
    text = "loan loan-0001 event 123e4567-e89b-12d3-a456-426614174000 on 2025-03-03 amount 5000000"
    assert redact(text) == text


def test_extras_named_like_secrets_are_masked_whatever_their_value(lines):
    logging.getLogger("x").info(
        "registered",
        extra={
            "nik": "anything",
            "bank_account_number": 42,
            "borrower": {"npwp_hash": "abc", "name": "Siti", "phone": NIK},
            "principal": 2_000_000_000,
            "nik_as_int": int(NIK),
        },
    )
    [entry] = lines()
    assert entry["nik"] == "[redacted]"
    assert entry["bank_account_number"] == "[redacted]"
    assert entry["borrower"] == {
        "npwp_hash": "[redacted]",
        "name": "Siti",
        "phone": "3174********0001",
    }
    assert entry["principal"] == 2_000_000_000
    assert str(NIK) not in json.dumps(entry)


def test_exception_text_is_redacted_too(lines):
    try:
        raise ValueError(f"duplicate NIK {NIK}")
    except ValueError:
        logging.getLogger("x").exception("registration failed")
    [entry] = lines()
    assert entry["severity"] == "ERROR"
    assert "ValueError" in entry["exception"]
    assert NIK not in json.dumps(entry)


def test_configuring_twice_keeps_one_handler(lines):
    configure_logging("INFO", stream=io.StringIO())
    configure_logging("INFO", stream=io.StringIO())
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_patungan", False)]
    assert len(ours) == 1
