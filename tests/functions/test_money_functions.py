"""`lender_wallet`, `finance` and `reconciliation` through functions-framework: who may move
money, what a client sees when a rule refuses, and the whole deposit-to-payout path over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from shared.domain.bank_statements import statement_csv
from shared.http.openapi import build_openapi, load_routers
from tests.functions.conftest import Platform, idempotent, problem
from tests.functions.test_outbox_relay import scheduler_token
from tests.unit.journey.money_desk import MoneyDesk

SCHEDULER = "cron-reconciliation@patungan-p2p-prod.iam.gserviceaccount.com"


@pytest.fixture
def desk(platform: Platform) -> MoneyDesk:
    w = platform.world
    desk = MoneyDesk(w.uow, clock=w.clock, ids=w.ids, vault=w.vault, storage=w.storage)
    desk.lender("ani", "1110001111")
    desk.lender("budi", "2220002222")
    return desk


@pytest.fixture
def wallet(platform: Platform) -> Any:
    return platform.client("lender_wallet")


@pytest.fixture
def finance(platform: Platform) -> Any:
    return platform.client("finance")


def lender(platform: Platform, user: str, key: str | None = None) -> dict[str, str]:
    headers = platform.bearer(user, "lender")
    return idempotent(key, headers) if key else headers


def admin(platform: Platform, user: str, key: str | None = None) -> dict[str, str]:
    headers = platform.bearer(user, "admin.finance")
    return idempotent(key, headers) if key else headers


def declare(wallet: Any, platform: Platform, user: str, amount: int, reference: str) -> Any:
    return wallet.post(
        "/deposits",
        json={
            "amount": amount,
            "sender_account": {
                "bank_code": "014",
                "account_number": {"ani": "1110001111", "budi": "2220002222"}[user],
                "account_holder": f"Lender {user}",
            },
            "transfer_reference": reference,
        },
        headers=lender(platform, user, f"declare-{reference}"),
    )


def import_statement(finance: Any, platform: Platform, desk: MoneyDesk, movements: list) -> Any:
    upload = finance.post(
        "/statements/uploads", json={"format": "csv"}, headers=admin(platform, "fin-1")
    )
    assert upload.status_code == 201, upload.get_data(as_text=True)
    upload_id = upload.get_json()["upload_id"]
    desk.storage.put(
        f"statements/{upload_id}", statement_csv(desk.statement_file(movements)), "text/csv"
    )
    return finance.post(
        "/statements", json={"upload_id": upload_id}, headers=admin(platform, "fin-1")
    )


def test_a_deposit_travels_from_declaration_to_a_withdrawal_over_http(
    platform: Platform, desk: MoneyDesk, wallet: Any, finance: Any
) -> None:
    declared = declare(wallet, platform, "ani", 2_000_000, "TOPUP-ANI-1")
    assert declared.status_code == 201, declared.get_data(as_text=True)
    body = declared.get_json()
    assert body["pay_to"]["account_number"] == "8880012345"
    assert body["deposit"]["sender_account_masked"].endswith("1111")
    deposit_id = body["deposit"]["id"]

    imported = import_statement(
        finance, platform, desk, [desk.transfer_in("ani", 2_000_000, "TOPUP-ANI-1")]
    )
    assert imported.status_code == 200, imported.get_data(as_text=True)
    assert imported.get_json()["lines_to_suspense"] == 1
    lines = finance.get("/lines?state=in_suspense", headers=admin(platform, "fin-2")).get_json()
    line_id = lines["lines"][0]["id"]

    matched = finance.post(
        f"/deposits/{deposit_id}/match",
        json={"line_id": line_id},
        headers=admin(platform, "fin-1", "match-1"),
    )
    assert matched.get_json()["state"] == "matched"
    # The one who matched may not confirm; a lender may not either.
    problem(
        finance.post(
            f"/deposits/{deposit_id}/confirm", headers=admin(platform, "fin-1", "confirm-1")
        ),
        403,
    )
    problem(
        finance.post(f"/deposits/{deposit_id}/confirm", headers=lender(platform, "ani", "c-2")),
        403,
    )
    confirmed = finance.post(
        f"/deposits/{deposit_id}/confirm", headers=admin(platform, "fin-2", "confirm-3")
    )
    assert confirmed.get_json()["state"] == "confirmed"
    again = finance.post(
        f"/deposits/{deposit_id}/confirm", headers=admin(platform, "fin-2", "confirm-4")
    )
    assert again.status_code == 200 and again.get_json()["state"] == "confirmed"

    balance = wallet.get("/balance", headers=lender(platform, "ani")).get_json()
    assert (balance["available"], balance["bank_account_verified"]) == (2_000_000, True)
    history = wallet.get("/deposits", headers=lender(platform, "ani")).get_json()
    assert [d["state"] for d in history["deposits"]] == ["confirmed"]
    entries = wallet.get("/entries", headers=lender(platform, "ani")).get_json()["entries"]
    assert [line["change"] for e in entries for line in e["lines"]] == [2_000_000]

    desk.next_day()  # the payout is sent after the statement's cut-off: in transit
    short = wallet.post(
        "/withdrawals", json={"amount": 2_000_001}, headers=lender(platform, "ani", "w-1")
    )
    refused = problem(short, 409)
    assert (refused["available"], refused["account"]) == (2_000_000, "lender_available:ani")
    made = wallet.post(
        "/withdrawals", json={"amount": 500_000}, headers=lender(platform, "ani", "w-2")
    )
    assert made.status_code == 201
    withdrawal_id = made.get_json()["id"]
    finance.post(f"/withdrawals/{withdrawal_id}/approve", headers=admin(platform, "fin-1", "a-1"))
    problem(
        finance.post(
            f"/withdrawals/{withdrawal_id}/confirm",
            json={"bank_reference": "OUT-1", "value_date": desk.today().isoformat()},
            headers=admin(platform, "fin-1", "t-1"),
        ),
        403,
    )
    paid = finance.post(
        f"/withdrawals/{withdrawal_id}/confirm",
        json={"bank_reference": "OUT-1", "value_date": desk.today().isoformat()},
        headers=admin(platform, "fin-2", "t-2"),
    )
    assert paid.get_json()["state"] == "confirmed"
    assert wallet.get("/balance", headers=lender(platform, "ani")).get_json()["available"] == (
        1_500_000
    )

    queued = finance.post("/reconciliations", headers=admin(platform, "fin-1", "r-1"))
    assert queued.status_code == 202 and queued.get_json()["state"] == "queued"
    app, module = platform.functions("reconciliation")
    w = platform.world
    services = module.ReconciliationServices(
        clock=w.clock,
        ids=w.ids,
        uow=w.uow,
        verifier=platform.verifier(),
        entity="p2p",
        scheduler_invoker=SCHEDULER,
    )
    platform.stack.enter_context(module.services.override(services))
    problem(app.test_client().post("/", json={}, headers=admin(platform, "fin-1")), 403)
    ran = app.test_client().post("/", json={}, headers=scheduler_token(platform, SCHEDULER))
    assert ran.status_code == 200, ran.get_data(as_text=True)
    run = finance.get(
        f"/reconciliations/{queued.get_json()['id']}", headers=admin(platform, "fin-2")
    ).get_json()
    assert run["state"] == "passed", run["problems"]
    assert run["statement"]["in_transit_total"] == -500_000


def test_money_rules_answer_with_problems_a_client_can_show(
    platform: Platform, desk: MoneyDesk, wallet: Any, finance: Any
) -> None:
    too_small = problem(declare(wallet, platform, "ani", 50_000, "TOPUP-1"), 422)
    assert "amount" in too_small["errors"]
    unverified = wallet.post(
        "/withdrawals", json={"amount": 100_000}, headers=lender(platform, "ani", "w-1")
    )
    assert "not verified" in problem(unverified, 409)["detail"]
    problem(finance.get("/deposits", headers=lender(platform, "ani")), 403)
    problem(finance.get("/accounts/lender_available:budi", headers=lender(platform, "ani")), 403)
    problem(finance.get("/accounts/no_such_account", headers=admin(platform, "fin-1")), 404)
    problem(
        finance.post("/deposits/dep-unknown/confirm", headers=admin(platform, "fin-1", "x-1")),
        404,
    )
    # A borrower has no wallet.
    problem(wallet.get("/balance", headers=platform.bearer("strong_msme", "borrower")), 403)


def test_a_lender_sees_only_their_own_money(
    platform: Platform, desk: MoneyDesk, wallet: Any
) -> None:
    desk.deposit("budi", 1_000_000, "TOPUP-BUDI")
    ani = wallet.get("/balance", headers=lender(platform, "ani")).get_json()
    budi = wallet.get("/balance", headers=lender(platform, "budi")).get_json()
    assert (ani["lender_id"], ani["available"]) == ("ani", 0)
    assert (budi["lender_id"], budi["available"]) == ("budi", 1_000_000)
    assert wallet.get("/deposits", headers=lender(platform, "ani")).get_json()["deposits"] == []
    assert wallet.get("/entries", headers=lender(platform, "ani")).get_json()["entries"] == []


@pytest.mark.parametrize("listing", ["/deposits", "/withdrawals"])
@pytest.mark.parametrize("instant", ["0.5", "1700000000", "2026-11-20T09:00:00"])
def test_a_period_bound_is_rfc3339_text_with_an_offset(
    platform: Platform, finance: Any, listing: str, instant: str
) -> None:
    refused = problem(
        finance.get(listing, query_string={"to": instant}, headers=admin(platform, "fin-1")), 422
    )
    assert "query.to" in refused["errors"]
    accepted = finance.get(
        listing, query_string={"to": "2026-11-20T09:00:00+07:00"}, headers=admin(platform, "fin-1")
    )
    assert accepted.status_code == 200, accepted.get_data(as_text=True)


def test_importing_an_upload_that_never_arrived_is_a_documented_404(
    platform: Platform, finance: Any
) -> None:
    missing = finance.post(
        "/statements", json={"upload_id": "stmtfile-never"}, headers=admin(platform, "fin-1")
    )
    assert "nothing was uploaded" in problem(missing, 404)["detail"]
    documented = build_openapi(load_routers())["paths"]["/finance/statements"]["post"]
    assert "404" in documented["responses"]
