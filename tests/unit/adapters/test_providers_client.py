"""The provider clients' contract, against scripted HTTP answers (httpx.MockTransport).

A provider's failure never raises into the caller: it comes back as
`ProviderUnavailable` with a reason. 5xx, 429, timeouts and connection errors
are retried with exponential backoff within a deadline; other 4xx are not.
The clock and sleep are fakes, so the backoff is checked without waiting.
"""

import json
import logging
from datetime import date
from decimal import Decimal

import httpx
import pytest

from shared.adapters.providers import (
    InMemoryBankAccounts,
    InMemoryProviders,
    ProviderEndpoint,
    ProviderQuery,
    ProvidersClient,
    ProvidersConfig,
    sales_until,
)
from shared.domain.scoring.providers import (
    BusinessProfile,
    CivilRegistryCheck,
    CreditBureauReport,
    ProviderData,
    ProviderUnavailable,
)
from shared.platform.providers import AccountHolder, InquiryUnavailable

NIK = "3174054507850001"
QUERY = ProviderQuery(
    nik=NIK,
    full_name="Siti Rahmawati",
    birth_date=date(1985, 7, 5),
    store_ids=("grow-sambal", "ghost/store"),
    applied_on=date(2026, 11, 20),
)
BUREAU = {
    "has_record": True,
    "worst_collectability_12m": 1,
    "credit_history_months": 64,
    "active_facilities": 1,
    "existing_monthly_debt": 3_500_000,
    "outstanding": 42_000_000,
    "report_id": "ignored-extra-field",
}


class FakeTime:
    """A monotonic clock that only moves when the client sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """Answers requests in order (the last answer repeats) and records them."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, int):
            return httpx.Response(answer, json={"error": "scripted"})
        return httpx.Response(200, json=answer)


def assert_backoff_with_jitter(sleeps: list[float], base: list[float]) -> None:
    """Each wait is the exponential base plus at most one initial backoff (0.2 s) of jitter."""
    assert len(sleeps) == len(base)
    for waited, expected in zip(sleeps, base, strict=True):
        assert expected <= waited <= expected + 0.2


def client(handler, time_: FakeTime | None = None, **endpoint_options) -> ProvidersClient:
    time_ = time_ or FakeTime()
    config = ProvidersConfig.sandbox(
        "http://providers.test/", "k3y", **{"backoff_s": 0.2, **endpoint_options}
    )
    return ProvidersClient(
        config, transport=httpx.MockTransport(handler), sleep=time_.sleep, clock=time_.clock
    )


def test_a_bureau_report_is_parsed_into_the_domain_type_ignoring_unknown_fields():
    script = Script(BUREAU)

    report = client(script).credit_report(NIK)

    assert report == CreditBureauReport(**{k: v for k, v in BUREAU.items() if k != "report_id"})
    request = script.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "http://providers.test/slik/v1/inquiries"
    assert request.headers["X-API-Key"] == "k3y"
    assert json.loads(request.content) == {"nik": NIK}  # in the body, never in the URL


def test_identity_is_verified_with_name_nik_and_birth_date():
    script = Script({"nik_found": True, "name_match": True, "birth_date_match": False})

    answer = client(script).verify_identity(NIK, "Siti Rahmawati", date(1985, 7, 5))

    assert answer == CivilRegistryCheck(nik_found=True, name_match=True, birth_date_match=False)
    assert json.loads(script.requests[0].content) == {
        "nik": NIK,
        "full_name": "Siti Rahmawati",
        "birth_date": "1985-07-05",
    }


def test_the_account_inquiry_names_the_holder_or_says_there_is_no_such_account():
    script = Script({"bank_code": "014", "account_number": "1740545001", "account_holder": "SITI"})

    answer = client(script).inquire_bank_account("014", "1740545001")

    assert answer == AccountHolder(account_holder="SITI")
    request = script.requests[0]
    assert str(request.url) == "http://providers.test/bank-accounts/v1/inquiries"
    # The account number travels in the body, never in the URL.
    assert json.loads(request.content) == {"bank_code": "014", "account_number": "1740545001"}
    assert client(Script(404)).inquire_bank_account("014", "9990001111") is None


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (503, "HTTP 503 Service Unavailable after 3 attempts"),
        ({"account_holder": " "}, "malformed response: bad or missing account_holder"),
        (401, "HTTP 401 Unauthorized (check the API key), not retried"),
    ],
)
def test_an_account_inquiry_that_cannot_be_answered_is_unavailable_with_the_reason(answer, reason):
    assert client(Script(answer)).inquire_bank_account("014", "1740545001") == (
        InquiryUnavailable(reason=reason)
    )


def test_the_in_memory_bank_names_the_accounts_a_test_opened():
    bank = InMemoryBankAccounts()
    bank.open("014", "1740545001", "Siti Rahmawati")
    assert bank.inquire_bank_account("014", "1740545001") == AccountHolder("Siti Rahmawati")
    assert bank.inquire_bank_account("008", "1740545001") is None
    bank.down = True
    assert isinstance(bank.inquire_bank_account("014", "1740545001"), InquiryUnavailable)


def test_sales_and_profiles_come_per_store_and_unknown_stores_are_left_out():
    def handler(request: httpx.Request) -> httpx.Response:
        if "ghost" in request.url.path:
            return httpx.Response(404, json={"error": "store not found"})
        if request.url.path.endswith("/monthly-sales"):
            return httpx.Response(
                200,
                json={
                    "store_id": "grow-sambal",
                    "currency": "IDR",
                    "months": [{"month": "2026-10", "net_revenue": 133_000_000}],
                },
            )
        return httpx.Response(
            200, json={"rating": "4.7", "review_count": 1240, "years_listed": "5.5"}
        )

    seen: list[httpx.Request] = []

    def recording(request):
        seen.append(request)
        return handler(request)

    c = client(recording)
    sales = c.store_sales(QUERY.store_ids, sales_until(QUERY.applied_on))
    profiles = c.business_profiles(QUERY.store_ids)

    assert [s.store_id for s in sales] == ["grow-sambal"]
    assert sales[0].months[0].net_revenue == 133_000_000
    assert profiles == (
        BusinessProfile(
            store_id="grow-sambal",
            rating=Decimal("4.7"),
            review_count=1240,
            years_listed=Decimal("5.5"),
        ),
    )
    paths = [r.url.raw_path.decode() for r in seen]
    assert paths == [
        "/ecommerce/v1/stores/grow-sambal/monthly-sales?until=2026-10&months=12",
        "/ecommerce/v1/stores/ghost%2Fstore/monthly-sales?until=2026-10&months=12",
        "/business-profile/v1/stores/grow-sambal",
        "/business-profile/v1/stores/ghost%2Fstore",
    ]


def test_a_5xx_is_retried_with_backoff_and_the_answer_used():
    time_ = FakeTime()
    script = Script(503, 502, BUREAU)

    report = client(script, time_).credit_report(NIK)

    assert isinstance(report, CreditBureauReport)
    assert len(script.requests) == 3
    assert_backoff_with_jitter(time_.sleeps, [0.2, 0.4])


def test_a_provider_failing_every_attempt_is_unavailable_with_the_reason():
    time_ = FakeTime()
    script = Script(503)

    answer = client(script, time_).credit_report(NIK)

    assert answer == ProviderUnavailable(
        provider="credit_bureau", reason="HTTP 503 Service Unavailable after 3 attempts"
    )
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (httpx.ReadTimeout("slow"), "timed out (2 s per attempt) after 3 attempts"),
        (httpx.ConnectError("refused"), "connection failed (ConnectError) after 3 attempts"),
        (429, "HTTP 429 Too Many Requests after 3 attempts"),
    ],
)
def test_timeouts_connection_errors_and_throttling_are_retried(failure, reason):
    script = Script(failure)

    answer = client(script).verify_identity(NIK, "Siti", date(1985, 7, 5))

    assert answer == ProviderUnavailable(provider="civil_registry", reason=reason)
    assert len(script.requests) == 3


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (401, "HTTP 401 Unauthorized (check the API key), not retried"),
        (400, "HTTP 400 Bad Request, not retried"),
    ],
)
def test_a_client_error_is_not_retried(status, reason):
    script = Script(status)

    answer = client(script).credit_report(NIK)

    assert answer == ProviderUnavailable(provider="credit_bureau", reason=reason)
    assert len(script.requests) == 1


def test_the_deadline_stops_retrying_before_the_attempts_run_out():
    time_ = FakeTime()
    script = Script(503)

    answer = client(script, time_, max_attempts=10, deadline_s=1.0).credit_report(NIK)

    # Waits about 0.2 and 0.4; the next wait (0.8 or more) would end past the 1 s deadline.
    assert answer.reason == (
        "HTTP 503 Service Unavailable after 3 attempts; the 1 s deadline ran out"
    )
    assert_backoff_with_jitter(time_.sleeps, [0.2, 0.4])


def test_backoff_is_jittered_so_retries_do_not_move_in_step():
    waits = set()
    for _ in range(5):
        time_ = FakeTime()
        client(Script(503, BUREAU), time_).credit_report(NIK)
        waits.add(time_.sleeps[0])
    assert len(waits) > 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"has_record": True}, "malformed response: bad or missing worst_collectability_12m, "),
        ([1, 2], "malformed response: expected a JSON object"),
    ],
)
def test_a_malformed_answer_is_unavailable_not_an_exception(body, reason):
    answer = client(Script(body)).credit_report(NIK)

    assert isinstance(answer, ProviderUnavailable)
    assert answer.reason.startswith(reason)


def test_sales_in_another_currency_are_refused():
    script = Script({"store_id": "x", "currency": "USD", "months": []})

    answer = client(script).store_sales(["x"], "2026-10")

    assert answer == ProviderUnavailable(
        provider="ecommerce_sales", reason="malformed response: sales must be in IDR"
    )


def test_a_bug_below_the_client_still_comes_back_as_unavailable():
    answer = client(Script(RuntimeError("boom"))).credit_report(NIK)

    assert answer == ProviderUnavailable(
        provider="credit_bureau", reason="unexpected error: RuntimeError"
    )


def test_gather_asks_all_four_and_keeps_each_answer_or_failure():
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/dukcapil"):
            return httpx.Response(
                200, json={"nik_found": True, "name_match": True, "birth_date_match": True}
            )
        if path.startswith("/slik"):
            return httpx.Response(503)
        if path.startswith("/ecommerce"):
            return httpx.Response(200, json={"store_id": "s", "months": []})
        return httpx.Response(404)

    data = client(handler, max_attempts=2).gather(QUERY)

    assert data.civil_registry == CivilRegistryCheck(
        nik_found=True, name_match=True, birth_date_match=True
    )
    assert data.credit_bureau == ProviderUnavailable(
        provider="credit_bureau", reason="HTTP 503 Service Unavailable after 2 attempts"
    )
    assert [s.store_id for s in data.ecommerce_sales] == ["grow-sambal", "ghost/store"]
    assert data.business_profile == ()


def test_nik_name_and_key_stay_out_of_logs_and_reprs(caplog):
    caplog.set_level(logging.DEBUG, logger="shared.adapters.providers")

    client(Script(503)).gather(QUERY)

    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "provider unavailable" in logged
    for secret in (NIK, "Siti Rahmawati", "k3y"):
        assert secret not in logged
        assert secret not in repr(QUERY)
    assert "k3y" not in repr(ProvidersConfig.sandbox("http://x", "k3y"))
    assert "3174********0001" in repr(QUERY)


def test_endpoint_settings_are_checked():
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):
        ProviderEndpoint(base_url="http://x", api_key="k", max_attempts=0)
    with pytest.raises(ValueError, match="must be positive"):
        ProviderEndpoint(base_url="http://x", api_key="k", timeout_s=0)


def test_the_in_memory_fake_answers_by_nik_and_records_queries():
    canned = ProviderData(
        civil_registry=None, credit_bureau=None, ecommerce_sales=(), business_profile=()
    )
    fake = InMemoryProviders({NIK: canned})
    stranger = ProviderQuery(
        nik="3174051208900001",
        full_name="X",
        birth_date=date(1990, 8, 12),
        store_ids=(),
        applied_on=date(2026, 11, 20),
    )

    assert fake.gather(QUERY) is canned
    unknown = fake.gather(stranger)
    assert isinstance(unknown.credit_bureau, ProviderUnavailable)
    assert fake.queries == [QUERY, stranger]
