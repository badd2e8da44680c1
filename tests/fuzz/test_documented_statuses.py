"""Every 4xx docs/openapi.json documents for an operation can be produced, and conforms.

One test per operation and documented 4xx (503 aside: the contention tests produce it): the
probe for that status (tests/fuzz/probes.py) sends its requests on the local platform, and
each answer must carry exactly that status, as a problem document the document describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from scripts.platform_runner import LocalPlatform
from shared.adapters.firestore import FirestoreUnitOfWork
from shared.platform.outbox import EventPublisher, OutboundMessage
from tests.fuzz.probes import PROBES, ProbeContext, Sent
from tests.fuzz.schema import SCHEMA
from tests.fuzz.spec import STATUSES_NOT_PROBED, Operation, load_document, operations

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
DOCUMENTED_4XX = [
    pytest.param(operation, status, id=f"{operation.label} {status}")
    for operation in operations(load_document())
    for status in operation.documented_4xx
    if status not in STATUSES_NOT_PROBED
]


class _NoEvents(EventPublisher):
    """Claiming a key emits no event: any publish is a bug in the probe."""

    def publish(self, messages: Sequence[OutboundMessage]) -> None:
        if messages:
            raise RuntimeError("claiming an Idempotency-Key must not publish events")


@pytest.fixture(scope="module")
def probe_context(
    local_platform: LocalPlatform, fuzz_gateway: Any, fuzz_accounts: Any, fuzz_tally: Any
) -> ProbeContext:
    store = FirestoreUnitOfWork(local_platform.firestore_client(), _NoEvents())
    return ProbeContext(fuzz_gateway, fuzz_accounts, store, fuzz_tally)


def conforms(operation: Operation, sent: Sent) -> None:
    case = SCHEMA[operation.path][operation.method].Case(path_parameters=dict(sent.path_parameters))
    case.validate_response(sent.response, checks=CONFORMANCE)


@pytest.mark.parametrize(("operation", "status"), DOCUMENTED_4XX)
def test_the_documented_status_is_produced(
    operation: Operation, status: int, probe_context: ProbeContext
) -> None:
    probe = PROBES.get(status)
    assert probe is not None, (
        f"{operation.label} documents {status}, which no probe in tests/fuzz/probes.py "
        "knows how to cause: add one there, or stop documenting it"
    )
    for sent in probe(probe_context, operation):
        answer = f"as {sent.caller}: {sent.response.status_code} {sent.response.text[:300]}"
        assert sent.response.status_code == status, answer
        conforms(operation, sent)
