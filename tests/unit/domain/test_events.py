"""Domain events: the envelope and the payload of each type (docs/architecture.md#events)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.errors import ValidationFailed
from shared.domain.events import (
    EVENT_DATA_MODELS,
    Envelope,
    EventType,
    LoanFunded,
    LoanSubmitted,
    latest_schema_version,
    new_event,
    parse_event,
)
from shared.topology import TOPICS

JAKARTA = timezone(timedelta(hours=7))
OCCURRED = datetime(2026, 1, 5, 9, 30, tzinfo=JAKARTA)
EVENT_ID = UUID("6f1c1f6e-3a43-4a49-9a57-1d2f1f0b9c01")

SAMPLE_DATA: dict[EventType, dict[str, object]] = {
    EventType.LOAN_SUBMITTED: {
        "loan_id": "L-1",
        "borrower_id": "U-7",
        "product_id": "working-capital-annuity",
        "principal": 50_000_000,
        "tenor": 12,
    },
    EventType.LOAN_SCORED: {
        "loan_id": "L-1",
        "model_version": "scorecard-v1",
        "score": 612,
        "grade": "B",
        "decision": "approve",
        "reasons": ["stable e-commerce sales"],
    },
    EventType.LOAN_APPROVED: {
        "loan_id": "L-1",
        "grade": "B",
        "principal": 50_000_000,
        "tenor": 12,
        "rate": "0.0145",
    },
    EventType.LOAN_REJECTED: {
        "loan_id": "L-1",
        "reasons": ["collectability 5 in the last 12 months"],
        "rejected_by": "admin-3",
    },
    EventType.LOAN_OFFER_ACCEPTED: {
        "loan_id": "L-1",
        "borrower_id": "U-7",
        "principal": 50_000_000,
        "tenor": 12,
        "rate": "0.0145",
        "funding_closes_on": "2026-01-19",
    },
    EventType.LOAN_CANCELLED: {
        "loan_id": "L-1",
        "borrower_id": "U-7",
        "cancelled_from": "funding",
        "reason": "found cheaper funding",
    },
    EventType.LOAN_FUNDED: {"loan_id": "L-1", "principal": 50_000_000, "lender_count": 37},
    EventType.LOAN_DISBURSED: {
        "loan_id": "L-1",
        "principal": 50_000_000,
        "origination_fee": 1_000_000,
        "origination_fee_vat": 110_000,
        "net_disbursement": 48_890_000,
        "disbursed_on": "2026-01-20",
        "maturity_date": "2027-01-20",
        "requested_by": "admin-9",
    },
    EventType.LOAN_EXPIRED: {"loan_id": "L-1", "committed_released": 12_500_000, "lender_count": 4},
    EventType.LOAN_REPAID: {"loan_id": "L-1", "repaid_on": "2027-01-20", "total_paid": 55_400_000},
    EventType.LOAN_WRITTEN_OFF: {
        "loan_id": "L-1",
        "written_off_on": "2027-05-02",
        "principal_written_off": 7_812_500,
        "lender_count": 3,
    },
    EventType.DEPOSIT_DECLARED: {"deposit_id": "dep-1", "lender_id": "U-9", "amount": 5_000_000},
    EventType.DEPOSIT_CONFIRMED: {
        "deposit_id": "dep-1",
        "lender_id": "U-9",
        "amount": 5_000_000,
        "line_id": "line-1",
        "entry_id": "deposit-dep-1",
        "confirmed_by": "fin-2",
    },
    EventType.DEPOSIT_REJECTED: {
        "deposit_id": "dep-1",
        "lender_id": "U-9",
        "amount": 5_000_000,
        "reason": "no such transfer on the statement",
        "rejected_by": "fin-2",
    },
    EventType.WITHDRAWAL_REQUESTED: {
        "withdrawal_id": "wd-1",
        "lender_id": "U-9",
        "amount": 750_000,
    },
    EventType.WITHDRAWAL_CONFIRMED: {
        "withdrawal_id": "wd-1",
        "lender_id": "U-9",
        "amount": 750_000,
        "bank_reference": "BCA-20260120-0042",
        "value_date": "2026-01-20",
        "confirmed_by": "fin-2",
    },
    EventType.WITHDRAWAL_REJECTED: {
        "withdrawal_id": "wd-1",
        "lender_id": "U-9",
        "amount": 750_000,
        "reason": "account under review",
        "rejected_by": "fin-1",
    },
    EventType.WITHDRAWAL_RETURNED: {
        "withdrawal_id": "wd-1",
        "lender_id": "U-9",
        "amount": 750_000,
        "returned_on": "2026-01-22",
        "reason": "account closed",
    },
    EventType.STATEMENT_IMPORTED: {
        "statement_id": "stmt-1",
        "period_end": "2026-01-20",
        "lines": 3,
        "credits": 2,
        "debits": 1,
        "closing_balance": 9_250_000,
    },
    EventType.LEDGER_ADJUSTED: {
        "manual_entry_id": "adj-1",
        "entry_id": "manual-adj-1",
        "proposed_by": "fin-1",
        "approved_by": "fin-2",
    },
    EventType.LEDGER_RECONCILED: {
        "run_id": "daily-2026-01-20",
        "kind": "daily",
        "day": "2026-01-20",
        "passed": True,
        "problems": 0,
    },
    EventType.PAYMENT_RECEIVED: {
        "payment_id": "PAY000001",
        "loan_id": "L-1",
        "amount": 1_772_000,
        "paid_at": "2026-01-20T10:00:00+07:00",
    },
    EventType.INSTALLMENT_DUE_SOON: {
        "loan_id": "L-1",
        "borrower_id": "U-7",
        "installment": 2,
        "due_date": "2026-02-20",
        "amount_due": 1_772_000,
    },
    EventType.INSTALLMENT_OVERDUE: {
        "loan_id": "L-1",
        "borrower_id": "U-7",
        "installment": 2,
        "due_date": "2026-02-20",
        "amount_overdue": 1_772_000,
    },
    EventType.LOAN_MATURING: {
        "loan_id": "L-1",
        "maturity_date": "2026-07-20",
        "outstanding_principal": 1_700_000,
    },
    EventType.INSTALLMENT_PAID: {
        "payment_id": "PAY000001",
        "loan_id": "L-1",
        "amount": 1_772_000,
        "collected": {"fee": 50_000, "fee_vat": 5_500, "interest": 150_000, "principal": 1_566_500},
        "installments": [1],
        "settled": [1],
        "borrower_credit": 0,
        "outstanding_principal": 8_433_500,
        "loan_repaid": False,
    },
}


def submitted(**overrides: object) -> Envelope:
    return new_event(
        EventType.LOAN_SUBMITTED,
        {**SAMPLE_DATA[EventType.LOAN_SUBMITTED], **overrides},
        entity="p2p",
        occurred_at=OCCURRED,
        event_id=EVENT_ID,
        causation_id="request-123",
    )


def wire(envelope: Envelope) -> dict[str, object]:
    return json.loads(envelope.to_json_bytes())


# --- the registry ------------------------------------------------------------------------


def test_every_event_type_has_a_payload_model():
    assert {kind for kind, _ in EVENT_DATA_MODELS} == set(EventType)
    assert set(SAMPLE_DATA) == set(EventType)


def test_topic_names_are_event_types():
    for topic in TOPICS:
        if topic.published_by is None:  # the platform's own: its events' types
            assert EventType(topic.name).value == topic.name


def test_the_lifecycle_events_the_first_functions_need_exist():
    for name in [
        "loan.submitted",
        "loan.scored",
        "loan.approved",
        "loan.rejected",
        "loan.offer_accepted",
        "loan.cancelled",
        "loan.funded",
        "loan.disbursed",
        "loan.expired",
        "loan.repaid",
    ]:
        assert latest_schema_version(EventType(name)) == 1


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_survives_the_wire(event_type):
    envelope = new_event(
        event_type,
        SAMPLE_DATA[event_type],
        entity="p2p",
        occurred_at=OCCURRED,
        event_id=EVENT_ID,
    )
    assert envelope.type is event_type
    assert envelope.schema_version == 1
    assert parse_event(envelope.to_json_bytes()) == envelope
    assert parse_event(envelope.to_json_bytes().decode()) == envelope
    assert parse_event(wire(envelope)) == envelope


def test_wire_form_has_integer_amounts_decimal_string_rates_and_an_aware_time():
    accepted = new_event(
        EventType.LOAN_OFFER_ACCEPTED,
        SAMPLE_DATA[EventType.LOAN_OFFER_ACCEPTED],
        entity="p2p",
        occurred_at=OCCURRED,
        event_id=EVENT_ID,
    )
    body = wire(accepted)
    assert body["event_id"] == str(EVENT_ID)
    assert body["type"] == "loan.offer_accepted"
    assert body["occurred_at"] == "2026-01-05T09:30:00+07:00"
    assert body["data"]["principal"] == 50_000_000
    assert body["data"]["rate"] == "0.0145"
    assert accepted.data.rate == Decimal("0.0145")
    assert accepted.data.funding_closes_on == date(2026, 1, 19)


def test_new_event_accepts_the_payload_model_itself():
    payload = LoanFunded(loan_id="L-1", principal=1_000_000, lender_count=3)
    envelope = new_event(
        EventType.LOAN_FUNDED, payload, entity="p2p", occurred_at=OCCURRED, event_id=EVENT_ID
    )
    assert envelope.data is payload
    assert envelope.causation_id is None


def test_events_are_immutable():
    envelope = submitted()
    with pytest.raises(ValueError, match="frozen"):
        envelope.entity = "other"  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        envelope.data.principal = 1  # type: ignore[attr-defined]


def test_an_event_read_from_the_wire_is_immutable_and_republishes_unchanged():
    sent = submitted().to_json_bytes()
    received = parse_event(sent)
    assert received.to_json_bytes() == sent
    with pytest.raises(ValueError, match="frozen"):
        received.entity = "other"  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        received.data.principal = 1  # type: ignore[attr-defined]


@given(
    principal=st.integers(1, 10**13),
    tenor=st.integers(1, 720),
    moment=st.datetimes(
        min_value=datetime(2020, 1, 1),
        max_value=datetime(2040, 1, 1),
        timezones=st.sampled_from([UTC, JAKARTA, timezone(timedelta(hours=-5))]),
    ),
    event_id=st.uuids(),
)
def test_any_valid_submission_round_trips_exactly(principal, tenor, moment, event_id):
    envelope = new_event(
        EventType.LOAN_SUBMITTED,
        {**SAMPLE_DATA[EventType.LOAN_SUBMITTED], "principal": principal, "tenor": tenor},
        entity="koperasi",
        occurred_at=moment,
        event_id=event_id,
    )
    parsed = parse_event(envelope.to_json_bytes())
    assert parsed == envelope
    assert parsed.occurred_at == moment and parsed.occurred_at.utcoffset() == moment.utcoffset()


# --- the envelope, invalid next to valid -------------------------------------------------


def test_a_naive_time_is_refused_when_building_and_when_parsing():
    with pytest.raises(ValidationFailed) as raised:
        new_event(
            EventType.LOAN_SUBMITTED,
            SAMPLE_DATA[EventType.LOAN_SUBMITTED],
            entity="p2p",
            occurred_at=datetime(2026, 1, 5, 9, 30),
            event_id=EVENT_ID,
        )
    assert "timezone" in raised.value.field_errors["occurred_at"]
    body = wire(submitted())
    body["occurred_at"] = "2026-01-05T09:30:00"
    with pytest.raises(ValidationFailed) as raised:
        parse_event(body)
    assert "timezone" in raised.value.field_errors["occurred_at"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "loan.teleported"}, "type"),
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"schema_version": 0}, "schema_version"),
        ({"schema_version": "1"}, "schema_version"),
        ({"entity": "P2P Entity"}, "entity"),
        ({"causation_id": ""}, "causation_id"),
        ({"priority": "high"}, "priority"),
        ({"data": "not an object"}, "data"),
    ],
)
def test_a_bad_envelope_is_refused_naming_the_field(change, field):
    body = {**wire(submitted()), **change}
    with pytest.raises(ValidationFailed) as raised:
        parse_event(body)
    assert raised.value.detail == "invalid event envelope"
    assert field in raised.value.field_errors


def test_an_event_bad_in_its_envelope_and_its_payload_is_refused_for_its_envelope_alone():
    body = {**wire(submitted()), "entity": "P2P Entity"}
    body["data"] = {**body["data"], "principal": 0}
    with pytest.raises(ValidationFailed) as raised:
        parse_event(body)
    assert raised.value.detail == "invalid event envelope"
    assert set(raised.value.field_errors) == {"entity"}


def test_a_missing_envelope_field_is_named():
    body = wire(submitted())
    del body["event_id"]
    with pytest.raises(ValidationFailed) as raised:
        parse_event(body)
    assert raised.value.field_errors == {"event_id": "Field required"}


def test_an_unknown_schema_version_is_refused():
    body = {**wire(submitted()), "schema_version": 2}
    with pytest.raises(ValidationFailed) as raised:
        parse_event(body)
    assert "no schema 2" in raised.value.field_errors["schema_version"]


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", "[1, 2]", b"42"])
def test_what_is_not_a_json_object_is_refused(raw):
    with pytest.raises(ValidationFailed):
        parse_event(raw)


# --- payloads, invalid next to valid -----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"principal": 0}, "data.principal"),
        ({"principal": 1.5}, "data.principal"),
        ({"principal": "50000000"}, "data.principal"),
        ({"principal": True}, "data.principal"),
        ({"tenor": -1}, "data.tenor"),
        ({"loan_id": ""}, "data.loan_id"),
        ({"loan_id": "L 1; drop"}, "data.loan_id"),
        ({"borrower_nik": "3174012345670001"}, "data.borrower_nik"),
    ],
)
def test_a_bad_payload_is_refused_naming_the_data_field(change, field):
    body = wire(submitted())
    body["data"] = {**body["data"], **change}
    with pytest.raises(ValidationFailed) as raised:
        parse_event(body)
    assert raised.value.detail == "invalid loan.submitted v1 data"
    assert field in raised.value.field_errors


def test_a_rate_sent_as_a_float_is_refused():
    body = wire(
        new_event(
            EventType.LOAN_APPROVED,
            SAMPLE_DATA[EventType.LOAN_APPROVED],
            entity="p2p",
            occurred_at=OCCURRED,
            event_id=EVENT_ID,
        )
    )
    body["data"]["rate"] = 0.0145
    with pytest.raises(ValidationFailed) as raised:
        parse_event(body)
    assert "not a float" in raised.value.field_errors["data.rate"]


def test_an_event_must_carry_the_payload_of_its_type():
    payload = LoanSubmitted.model_validate(SAMPLE_DATA[EventType.LOAN_SUBMITTED])
    with pytest.raises(ValidationFailed) as raised:
        new_event(
            EventType.LOAN_FUNDED, payload, entity="p2p", occurred_at=OCCURRED, event_id=EVENT_ID
        )
    assert "carries LoanFunded, not LoanSubmitted" in raised.value.field_errors["(root)"]


def test_a_disbursement_must_add_up():
    data = {**SAMPLE_DATA[EventType.LOAN_DISBURSED], "net_disbursement": 48_900_000}
    with pytest.raises(ValidationFailed) as raised:
        new_event(
            EventType.LOAN_DISBURSED, data, entity="p2p", occurred_at=OCCURRED, event_id=EVENT_ID
        )
    assert "= 48890000" in raised.value.field_errors["(root)"]


def test_a_disbursement_matures_after_it_is_paid_out():
    data = {**SAMPLE_DATA[EventType.LOAN_DISBURSED], "maturity_date": "2026-01-20"}
    with pytest.raises(ValidationFailed) as raised:
        new_event(
            EventType.LOAN_DISBURSED, data, entity="p2p", occurred_at=OCCURRED, event_id=EVENT_ID
        )
    assert "maturity_date must be after disbursed_on" in raised.value.field_errors["(root)"]


@pytest.mark.parametrize(("state", "valid"), [("funding", True), ("funded", False)])
def test_only_a_loan_not_yet_funded_can_be_cancelled(state, valid):
    data = {**SAMPLE_DATA[EventType.LOAN_CANCELLED], "cancelled_from": state}

    def build() -> Envelope:
        return new_event(
            EventType.LOAN_CANCELLED, data, entity="p2p", occurred_at=OCCURRED, event_id=EVENT_ID
        )

    if valid:
        assert build().data.cancelled_from.value == state
    else:
        with pytest.raises(ValidationFailed, match="cancelled"):
            build()


def test_a_rejection_gives_at_least_one_reason():
    data = {**SAMPLE_DATA[EventType.LOAN_REJECTED], "reasons": []}
    with pytest.raises(ValidationFailed) as raised:
        new_event(
            EventType.LOAN_REJECTED, data, entity="p2p", occurred_at=OCCURRED, event_id=EVENT_ID
        )
    assert "reasons" in raised.value.field_errors


def test_a_scoring_decision_is_approve_review_or_reject():
    data = {**SAMPLE_DATA[EventType.LOAN_SCORED], "decision": "maybe"}
    with pytest.raises(ValidationFailed) as raised:
        new_event(
            EventType.LOAN_SCORED, data, entity="p2p", occurred_at=OCCURRED, event_id=EVENT_ID
        )
    assert "decision" in raised.value.field_errors


def test_an_envelope_built_directly_is_held_to_the_registry():
    payload = LoanSubmitted.model_validate(SAMPLE_DATA[EventType.LOAN_SUBMITTED])
    fields = {
        "event_id": EVENT_ID,
        "type": EventType.LOAN_SUBMITTED,
        "entity": "p2p",
        "occurred_at": OCCURRED,
        "data": payload,
    }
    built = Envelope(**fields, schema_version=1)
    assert parse_event(built.to_json_bytes()) == built
    with pytest.raises(ValueError, match=r"no schema 2 is registered for loan\.submitted"):
        Envelope(**fields, schema_version=2)
