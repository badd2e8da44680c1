"""Schemathesis over every operation of docs/openapi.json, on the local platform, as every
caller the operation admits (tests/fuzz/spec.py).

Each caller kind gets one test, `test_fuzz_as_<caller>`, parametrized by schemathesis with the
operations that caller may call; each operation runs the explicit examples of the document,
the coverage phase (boundaries, missing and wrong-typed fields, undeclared methods) and the
fuzzing phase (`PATUNGAN_FUZZ_EXAMPLES` examples, valid and invalid). Every response must pass:

- `not_a_server_error`: never a 5xx;
- `status_code_conformance`, `content_type_conformance`, `response_schema_conformance`,
  `response_headers_conformance`: a documented status, its documented content type
  (`application/problem+json` for every error) and a body its schema accepts;
- `negative_data_rejection`: a request the document forbids is refused with a 4xx;
- `positive_data_acceptance`: a request the document allows is never refused as malformed
  (400, 413, 415): only a rule, a state or a missing resource may refuse it;
- `missing_required_header`, `unsupported_method`, `allow_header_conformance`: a missing
  `Idempotency-Key` is refused, an undeclared method gets 405 with a true `Allow` header.

`ignored_auth` is left to tests/fuzz/test_documented_statuses.py, which sends every
operation without a token and with a refused one: that check sends its probe outside the
session the gateway is mounted on.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.core.failures import FailureGroup

from tests.fuzz.accounts import FuzzAccounts
from tests.fuzz.schema import SCHEMA
from tests.fuzz.spec import CALLERS, admitted_callers, function_of, load_document, operations
from tests.fuzz.tally import FUZZ, Tally

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


def _fuzz_as(caller: str) -> Any:
    def admits(context: Any) -> bool:
        operation = context.operation
        return caller in admitted_callers(operation.path, operation.definition.raw)

    admits.__name__ = f"admits_{caller}"

    @SCHEMA.include(admits).parametrize()
    def test(
        case: schemathesis.Case[Any],
        fuzz_gateway: requests.Session,
        fuzz_accounts: FuzzAccounts,
        fuzz_tally: Tally,
    ) -> None:
        headers = fuzz_accounts.headers(caller, function_of(case.operation.path))
        response = case.call(session=fuzz_gateway, headers=headers)
        label = case.operation.label
        fuzz_tally.record(label, FUZZ, response.status_code, caller)
        try:
            case.validate_response(
                response, headers=headers, transport_kwargs={"session": fuzz_gateway}
            )
        except FailureGroup as failures:
            fuzz_tally.failed(label, caller, str(failures))
            raise

    test.__name__ = f"test_fuzz_as_{caller.replace('.', '_')}"
    return test


# One test per caller kind that some operation admits, as module attributes for pytest to collect.
_ADMITTED = {caller for op in operations(load_document()) for caller in op.admitted}
for _caller in sorted(_ADMITTED, key=CALLERS.index):
    _test = _fuzz_as(_caller)
    globals()[_test.__name__] = _test
