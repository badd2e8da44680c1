"""Fixtures of the API fuzzing harness, on the session's local platform (`local_platform`).

- `fuzz_gateway`: a requests session that reaches every function by the document's paths
  (tests/fuzz/gateway.py);
- `fuzz_accounts`: bearer headers for every caller kind (tests/fuzz/accounts.py);
- `fuzz_tally`: every response the harness got; when `PATUNGAN_FUZZ_REPORT` names a file
  (`nox -s fuzz`), the report is written there at the end of the session.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
import requests
import schemathesis

from scripts.platform_client import PlatformClient
from scripts.platform_runner import LOCAL_PAYMENT_WEBHOOK_KEY, LocalPlatform
from tests.fuzz.accounts import FuzzAccounts, register_accounts
from tests.fuzz.gateway import gateway_session
from tests.fuzz.schema import BUDGET
from tests.fuzz.spec import load_document, operations
from tests.fuzz.tally import RunSettings, Tally, render_report


@pytest.fixture(scope="session")
def fuzz_gateway(local_platform: LocalPlatform) -> Iterator[requests.Session]:
    session = gateway_session(local_platform.urls, LOCAL_PAYMENT_WEBHOOK_KEY)
    yield session
    session.close()


@pytest.fixture(scope="session")
def fuzz_accounts(local_platform: LocalPlatform) -> FuzzAccounts:
    with PlatformClient(local_platform.urls, local_platform.keys) as client:
        return register_accounts(client, local_platform.scheduled_jobs, random.Random())


@pytest.fixture(scope="session")
def fuzz_tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    started = time.monotonic()
    tally = Tally()
    yield tally
    if BUDGET.report is None:
        return
    session = request.session
    outcome = f"{session.testscollected - session.testsfailed} passed, {session.testsfailed} failed"
    run = RunSettings(
        examples=BUDGET.examples,
        seed=str(BUDGET.seed),
        elapsed_s=time.monotonic() - started,
        schemathesis_version=schemathesis.__version__,
        outcome=outcome,
    )
    BUDGET.report.write_text(render_report(tally, operations(load_document()), run))
