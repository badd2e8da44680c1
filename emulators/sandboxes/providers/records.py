"""The sandbox's deterministic answers: the reference personas first, then rules.

Every answer is a pure function of the request (NIK, name, date of birth, store
id, month, bank account), so a test or a demo can choose a borrower by choosing a NIK or a
store id. The rules are documented in README.md; the personas are the sandbox's
own test data (`personas.json` beside this file), served exactly.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

STORE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
BANK_CODE = re.compile(r"^\d{3}$")
ACCOUNT_NUMBER = re.compile(r"^\d{6,20}$")


def _unit(*parts: str) -> float:
    """A number in [0, 1) fixed by `parts` (same input, same number, on any machine)."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _between(low: float, high: float, *parts: str) -> float:
    return low + (high - low) * _unit(*parts)


def _name_key(name: str) -> str:
    return " ".join(name.casefold().split())


def _nik_birth_ddmmyy(nik: str) -> str | None:
    if len(nik) != 16 or not nik.isdigit():
        return None
    day = int(nik[6:8])
    if day > 40:
        day -= 40
    return f"{day:02d}{nik[8:12]}"


def shift_month(month: str, delta: int) -> str:
    """``YYYY-MM`` moved by `delta` months (negative goes back)."""
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + number - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_ending(last_month: str, count: int) -> list[str]:
    """`count` consecutive months, oldest first, the last one being `last_month`."""
    return [shift_month(last_month, back) for back in range(1 - count, 1)]


@dataclass(frozen=True)
class PersonaStore:
    store_id: str
    monthly_net_revenue: tuple[int, ...]  # oldest first
    rating: str | None
    review_count: int
    years_listed: str


@dataclass(frozen=True)
class Persona:
    nik: str
    full_name: str
    birth_date: date
    credit_bureau: dict[str, Any]  # the bureau's answer, as served
    stores: tuple[PersonaStore, ...]
    bank_account: tuple[str, str] | None = None  # (bank code, account number)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Persona:
        return cls(
            nik=raw["nik"],
            full_name=raw["full_name"],
            birth_date=date.fromisoformat(raw["birth_date"]),
            credit_bureau=dict(raw["credit_bureau"]),
            stores=tuple(
                PersonaStore(
                    store_id=store["store_id"],
                    monthly_net_revenue=tuple(store["monthly_net_revenue"]),
                    rating=store["rating"],
                    review_count=store["review_count"],
                    years_listed=store["years_listed"],
                )
                for store in raw["stores"]
            ),
            bank_account=(
                (raw["bank_account"]["bank_code"], raw["bank_account"]["account_number"])
                if "bank_account" in raw
                else None
            ),
        )


def load_personas() -> list[Persona]:
    """The personas of `personas.json`, shipped with this package."""
    text = (
        resources.files("emulators.sandboxes.providers")
        .joinpath("personas.json")
        .read_text(encoding="utf-8")
    )
    return [Persona.from_json(raw) for raw in json.loads(text)["personas"]]


@dataclass(frozen=True)
class SandboxRecords:
    """What the sandbox knows: the personas by NIK and by store id, and the rules."""

    personas: dict[str, Persona]
    stores: dict[str, PersonaStore]
    accounts: dict[tuple[str, str], Persona]  # by (bank code, account number)

    @classmethod
    def load(cls) -> SandboxRecords:
        personas = {persona.nik: persona for persona in load_personas()}
        stores = {s.store_id: s for p in personas.values() for s in p.stores}
        accounts = {p.bank_account: p for p in personas.values() if p.bank_account}
        return cls(personas=personas, stores=stores, accounts=accounts)

    # --- the bank's account inquiry -------------------------------------------

    def bank_account(self, bank_code: str, account_number: str) -> dict[str, str] | None:
        """The account's holder, in capitals as banks answer; None: no such account."""
        persona = self.accounts.get((bank_code, account_number))
        if persona is not None:
            holder = persona.full_name
        elif account_number.startswith("9"):
            return None
        else:
            holder = f"Pemilik Rekening {account_number[-4:]}"
        return {
            "bank_code": bank_code,
            "account_number": account_number,
            "account_holder": holder.upper(),
        }

    # --- Dukcapil ----------------------------------------------------------

    def civil_registry(self, nik: str, full_name: str, birth_date: date) -> dict[str, bool]:
        persona = self.personas.get(nik)
        if persona is not None:
            return {
                "nik_found": True,
                "name_match": _name_key(full_name) == _name_key(persona.full_name),
                "birth_date_match": birth_date == persona.birth_date,
            }
        encoded = _nik_birth_ddmmyy(nik)
        if encoded is None or nik[12] == "6":
            return {"nik_found": False, "name_match": False, "birth_date_match": False}
        return {
            "nik_found": True,
            "name_match": bool(full_name.strip()),
            "birth_date_match": encoded == birth_date.strftime("%d%m%y"),
        }

    # --- SLIK --------------------------------------------------------------

    def credit_bureau(self, nik: str) -> dict[str, Any]:
        persona = self.personas.get(nik)
        if persona is not None:
            return dict(persona.credit_bureau)
        profile = nik[12]
        if profile in "67":
            return {
                "has_record": False,
                "worst_collectability_12m": None,
                "credit_history_months": 0,
                "active_facilities": 0,
                "existing_monthly_debt": 0,
                "outstanding": 0,
            }
        if profile == "8":
            collectability, history, debt = 2, (12, 60), (5_000_000, 15_000_000)
        elif profile == "9":
            collectability, history, debt = 5, (24, 96), (5_000_000, 20_000_000)
        else:
            collectability, history, debt = 1, (24, 120), (1_000_000, 8_000_000)
        facilities = 1 + int(_between(0, 3, nik, "facilities"))
        monthly_debt = round(_between(*debt, nik, "debt"), -3)
        return {
            "has_record": True,
            "worst_collectability_12m": collectability,
            "credit_history_months": int(_between(*history, nik, "history")),
            "active_facilities": facilities,
            "existing_monthly_debt": int(monthly_debt),
            "outstanding": int(monthly_debt) * 14,
        }

    # --- Marketplace sales and profiles --------------------------------------

    def store_sales(self, store_id: str, until: str, months: int) -> dict[str, Any] | None:
        """Net revenue per month ending with `until`; None: the marketplace has no such store."""
        window = months_ending(until, months)
        persona_store = self.stores.get(store_id)
        if persona_store is not None:
            revenue = persona_store.monthly_net_revenue[-months:]
            series = list(zip(window[len(window) - len(revenue) :], revenue, strict=True))
        else:
            shape = _store_shape(store_id)
            if shape is None:
                return None
            series = _generated_sales(store_id, shape, window)
        return {
            "store_id": store_id,
            "currency": "IDR",
            "months": [{"month": m, "net_revenue": v} for m, v in series],
        }

    def business_profile(self, store_id: str) -> dict[str, Any] | None:
        persona_store = self.stores.get(store_id)
        if persona_store is not None:
            return {
                "store_id": store_id,
                "rating": persona_store.rating,
                "review_count": persona_store.review_count,
                "years_listed": persona_store.years_listed,
            }
        shape = _store_shape(store_id)
        if shape is None:
            return None
        if shape == "new":
            rating, reviews, years = None, 0, _between(0.1, 0.4, store_id, "years")
        else:
            low, high, review_range, year_range = {
                "grow": (4.5, 4.9, (200, 2000), (3, 8)),
                "decline": (3.0, 3.6, (10, 60), (0.5, 2)),
                "steady": (4.0, 4.6, (30, 300), (1, 5)),
            }[shape]
            rating = _between(low, high, store_id, "rating")
            reviews = int(_between(*review_range, store_id, "reviews"))
            years = _between(*year_range, store_id, "years")
        return {
            "store_id": store_id,
            "rating": None if rating is None else str(Decimal(rating).quantize(Decimal("0.1"))),
            "review_count": reviews,
            "years_listed": str(Decimal(years).quantize(Decimal("0.1"))),
        }


def _store_shape(store_id: str) -> str | None:
    prefix = store_id.split("-", 1)[0].lower()
    if prefix == "missing":
        return None
    return prefix if prefix in ("grow", "new", "decline") else "steady"


def _generated_sales(store_id: str, shape: str, window: list[str]) -> list[tuple[str, int]]:
    base_range, growth, noise = {
        "grow": ((40e6, 200e6), 0.03, 0.05),
        "new": ((3e6, 10e6), 0.10, 0.05),
        "decline": ((15e6, 40e6), -0.06, 0.35),
        "steady": ((10e6, 60e6), 0.0, 0.12),
    }[shape]
    base = _between(*base_range, store_id, "base")
    if shape == "new":
        window = window[-3:]  # opened three months ago
    out: list[tuple[str, int]] = []
    for age, month in enumerate(window):
        wobble = 1 + _between(-noise, noise, store_id, month)
        value = base * (1 + growth) ** (age - len(window) + 1) * wobble
        out.append((month, int(round(value, -3))))
    return out
