"""The real provider clients against the providers sandbox, over HTTP.

The personas come back exactly as documented and score to their decisions;
the NIK and store-id rules pick good, thin and bad borrowers; injected 5xx,
hangs and latency turn into `ProviderUnavailable` (and a review), never an
exception; the sandbox itself starts from flags and stops cleanly on SIGTERM.
"""

from datetime import date

import httpx
import pytest

from emulators.launcher import EmulatorProcess
from shared.adapters.providers import ProviderQuery, ProvidersClient, ProvidersConfig
from shared.domain.identity import same_name
from shared.domain.scorecards.personas import load_personas
from shared.domain.scoring.engine import score
from shared.domain.scoring.providers import CreditBureauReport, ProviderUnavailable
from shared.domain.scoring.scorecard import load_scorecard
from shared.platform.providers import AccountHolder, InquiryUnavailable
from tests.fixtures.providers_sandbox import PROVIDERS_SANDBOX_API_KEY

pytestmark = pytest.mark.emulator

PERSONAS = load_personas()
SCORECARD = load_scorecard("v1")
APPLIED_ON = date(2026, 11, 20)


@pytest.fixture
def clients(providers_sandbox):
    """Clients tuned for tests: short timeouts and backoff, the production code path."""

    def make(api_key=PROVIDERS_SANDBOX_API_KEY, **options):
        options = {"timeout_s": 2.0, "backoff_s": 0.02, "max_attempts": 3, **options}
        return ProvidersClient(ProvidersConfig.sandbox(providers_sandbox, api_key, **options))

    made = []

    def tracked(*args, **kwargs):
        made.append(make(*args, **kwargs))
        return made[-1]

    yield tracked
    for c in made:
        c.close()


def query_for(key: str) -> ProviderQuery:
    p = PERSONAS[key]
    return ProviderQuery(
        nik=p.applicant.nik,
        full_name=p.applicant.full_name,
        birth_date=p.applicant.birth_date,
        store_ids=p.business.store_ids,
        applied_on=p.application.applied_on,
    )


def nik_with_sequence(sequence: str) -> ProviderQuery:
    """A man born 12-08-1990 in Jakarta Selatan whose NIK ends in `sequence`."""
    return ProviderQuery(
        nik=f"317405120890{sequence}",
        full_name="Budi Santoso",
        birth_date=date(1990, 8, 12),
        store_ids=(),
        applied_on=APPLIED_ON,
    )


# --- Happy path: the personas ---------------------------------------------------


@pytest.mark.parametrize("key", ["strong_msme", "thin_file", "risky"])
def test_each_persona_comes_back_as_documented_and_scores_to_its_decision(clients, key):
    persona = PERSONAS[key]

    data = clients().gather(query_for(key))

    assert data == persona.provider_data()
    decision = score(persona.scoring_application(), data, SCORECARD)
    assert decision.decision == persona.expected_decision


def test_a_persona_with_the_wrong_birth_date_or_name_does_not_match(clients):
    persona = PERSONAS["strong_msme"]
    c = clients()

    wrong_name = c.verify_identity(persona.applicant.nik, "Siti Rahayu", date(1985, 7, 5))
    wrong_date = c.verify_identity(persona.applicant.nik, "SITI  rahmawati", date(1985, 7, 6))

    assert (wrong_name.name_match, wrong_name.birth_date_match) == (False, True)
    assert (wrong_date.name_match, wrong_date.birth_date_match) == (True, False)


# --- The documented rules for other NIKs and stores --------------------------------


@pytest.mark.parametrize(
    ("sequence", "has_record", "worst"),
    [("0001", True, 1), ("7001", False, None), ("8001", True, 2), ("9001", True, 5)],
)
def test_the_nik_sequence_chooses_the_bureau_record(clients, sequence, has_record, worst):
    report = clients().credit_report(nik_with_sequence(sequence).nik)

    assert isinstance(report, CreditBureauReport)
    assert (report.has_record, report.worst_collectability_12m) == (has_record, worst)


def test_a_nik_in_the_6000s_is_not_in_the_civil_registry(clients):
    query = nik_with_sequence("6001")

    check = clients().verify_identity(query.nik, query.full_name, query.birth_date)

    assert not check.nik_found


def test_the_birth_date_inside_the_nik_must_match_for_other_people(clients):
    query = nik_with_sequence("0001")
    c = clients()

    assert c.verify_identity(query.nik, query.full_name, date(1990, 8, 12)).matched
    assert not c.verify_identity(query.nik, query.full_name, date(1990, 8, 13)).matched


def test_store_prefixes_choose_the_sales_shape(clients):
    c = clients()
    stores = ("grow-a", "new-b", "decline-c", "plain-d", "missing-e")

    sales = {s.store_id: s for s in c.store_sales(stores, "2026-10")}
    profiles = {p.store_id: p for p in c.business_profiles(stores)}

    assert set(sales) == set(profiles) == {"grow-a", "new-b", "decline-c", "plain-d"}
    assert [len(sales[s].months) for s in ("grow-a", "new-b", "decline-c", "plain-d")] == [
        12,
        3,
        12,
        12,
    ]
    assert sales["grow-a"].months[-1].month == "2026-10"
    grow = [m.net_revenue for m in sales["grow-a"].months]
    decline = [m.net_revenue for m in sales["decline-c"].months]
    assert sum(grow[-3:]) > sum(grow[:3])
    assert sum(decline[-3:]) < sum(decline[:3])
    assert profiles["new-b"].rating is None and profiles["new-b"].review_count == 0
    assert profiles["grow-a"].rating > profiles["decline-c"].rating
    # Deterministic: the same store answers the same way every time.
    assert c.store_sales(["grow-a"], "2026-10")[0] == sales["grow-a"]


# --- The bank's account inquiry ---------------------------------------------------


def test_a_personas_account_is_held_in_their_name_in_capitals(clients):
    answer = clients().inquire_bank_account("014", "1740545001")
    assert answer == AccountHolder(account_holder="SITI RAHMAWATI")
    assert same_name(answer.account_holder, PERSONAS["strong_msme"].applicant.full_name)


def test_any_other_account_is_held_by_its_last_four_digits_or_missing_from_a_9(clients):
    answer = clients().inquire_bank_account("008", "5550005555")
    assert answer == AccountHolder(account_holder="PEMILIK REKENING 5555")
    assert clients().inquire_bank_account("008", "9990005555") is None


def test_a_malformed_inquiry_is_refused_and_an_injected_failure_is_unavailable(
    providers_sandbox, clients, providers_faults
):
    refused = httpx.post(
        f"{providers_sandbox}/bank-accounts/v1/inquiries",
        json={"bank_code": "14", "account_number": "1740545001"},
        headers={"X-API-Key": PROVIDERS_SANDBOX_API_KEY},
    )
    assert refused.status_code == 400
    providers_faults.set("bank_account_inquiry", fail_rate=1.0)
    answer = clients().inquire_bank_account("014", "1740545001")
    assert answer == InquiryUnavailable(reason="HTTP 503 Service Unavailable after 3 attempts")


# --- Authentication ------------------------------------------------------------


def test_a_wrong_api_key_makes_every_provider_unavailable_without_retrying(clients):
    data = clients(api_key="not-the-key").gather(query_for("strong_msme"))

    for answer in (
        data.civil_registry,
        data.credit_bureau,
        data.ecommerce_sales,
        data.business_profile,
    ):
        assert isinstance(answer, ProviderUnavailable)
        assert answer.reason == "HTTP 401 Unauthorized (check the API key), not retried"


# --- Injected failures and latency -----------------------------------------------


def test_one_injected_5xx_is_absorbed_by_a_retry(clients, providers_faults):
    providers_faults.set("credit_bureau", fail_next=1)

    report = clients().credit_report(PERSONAS["strong_msme"].applicant.nik)

    assert isinstance(report, CreditBureauReport)
    assert providers_faults.current()["credit_bureau"]["fail_next"] == 0


def test_a_provider_failing_every_attempt_sends_the_application_to_review(
    clients, providers_faults
):
    providers_faults.set("ecommerce_sales", fail_rate=1.0)
    persona = PERSONAS["strong_msme"]

    data = clients().gather(query_for("strong_msme"))

    assert data.ecommerce_sales == ProviderUnavailable(
        provider="ecommerce_sales", reason="HTTP 503 Service Unavailable after 3 attempts"
    )
    assert isinstance(data.credit_bureau, CreditBureauReport)  # the others still answer
    decision = score(persona.scoring_application(), data, SCORECARD)
    assert decision.decision == "review"
    assert decision.reasons[0].message == (
        "ecommerce sales unavailable: HTTP 503 Service Unavailable after 3 attempts"
    )


def test_a_provider_that_hangs_is_unavailable_once_the_timeout_passes(clients, providers_faults):
    providers_faults.set("civil_registry", fail_rate=1.0, fail_mode="timeout", hang_ms=3000)
    query = query_for("strong_msme")

    answer = clients(timeout_s=0.3, max_attempts=2).verify_identity(
        query.nik, query.full_name, query.birth_date
    )

    assert answer == ProviderUnavailable(
        provider="civil_registry", reason="timed out (0.3 s per attempt) after 2 attempts"
    )


def test_latency_beyond_the_timeout_is_unavailable_and_within_it_is_fine(clients, providers_faults):
    providers_faults.set("business_profile", delay_ms=600)
    stores = PERSONAS["strong_msme"].business.store_ids

    impatient = clients(timeout_s=0.3, max_attempts=2).business_profiles(stores)
    patient = clients(timeout_s=2.0).business_profiles(stores)

    assert impatient == ProviderUnavailable(
        provider="business_profile", reason="timed out (0.3 s per attempt) after 2 attempts"
    )
    assert patient == PERSONAS["strong_msme"].provider_data().business_profile


def test_the_admin_api_refuses_unknown_providers_and_bad_settings(providers_sandbox):
    unknown = httpx.put(f"{providers_sandbox}/admin/faults/weather", json={"delay_ms": 1})
    bad = httpx.put(f"{providers_sandbox}/admin/faults/credit_bureau", json={"fail_rate": 2})

    assert unknown.status_code == 404
    assert bad.status_code == 400
    assert bad.json() == {"error": "fail_rate must be between 0 and 1, got 2"}


# --- The process: flags, READY, SIGTERM ------------------------------------------------


def test_faults_from_the_command_line_and_a_clean_stop_on_sigterm():
    sandbox = EmulatorProcess.python_module(
        "providers-flags",
        "emulators.sandboxes.providers",
        "--port",
        "0",
        "--api-key",
        "flag-key",
        "--fault",
        "credit_bureau:fail_next=1,delay_ms=10",
    )
    with sandbox:
        assert sandbox.ready_line.startswith("READY providers http://127.0.0.1:")
        url = sandbox.ready_line.split()[2]
        headers = {"X-API-Key": "flag-key"}
        body = {"nik": "3174051208900001"}
        first = httpx.post(f"{url}/slik/v1/inquiries", json=body, headers=headers)
        second = httpx.post(f"{url}/slik/v1/inquiries", json=body, headers=headers)

        assert (first.status_code, second.status_code) == (503, 200)
        assert sandbox.stop() == 0
    assert sandbox.output[-1] == "STOPPED providers"
