"""A walk through the pure lending domain: a quote, three five-C decisions, a split.

    python3 dev.py nox -s demo_domain      (or: .venv/bin/python -m scripts.demo_domain)

It touches no cloud and no emulator: everything printed is computed by
`shared/domain` from the sample catalogue (`shared/domain/data/products.json`),
scorecard v1 and its three reference personas.
"""

from __future__ import annotations

import argparse
from datetime import date
from decimal import Decimal
from importlib import resources

from shared.domain import caps, products
from shared.domain.allocation import InstallmentParts
from shared.domain.money import format_idr, rupiah
from shared.domain.scorecards.personas import load_personas
from shared.domain.scoring.engine import score
from shared.domain.scoring.scorecard import load_scorecard
from shared.domain.split import LenderStake, split_to_lenders
from shared.domain.tax import LenderTaxProfile


def _catalogue() -> products.ProductCatalogue:
    raw = resources.files("shared.domain.data").joinpath("products.json").read_text()
    return products.parse_catalogue(raw)


def show_quote(
    product: products.LoanProduct, principal: int, tenor: int, on: date
) -> products.Quote:
    quote = products.quote(product, principal, tenor, on)
    check = caps.check_offer(quote, offered_on=on)
    print(
        f"== Quote: {product.name}, "
        f"{format_idr(principal)} over {tenor} {product.tenor_unit.value}s from {on} =="
    )
    print(
        f"{'#':>3} {'due':>10} {'principal':>14} {'interest':>12} {'fees':>9} "
        f"{'fee VAT':>8} {'total':>14} {'balance after':>15}"
    )
    for row in quote.schedule.installments:
        print(
            f"{row.number:>3} {row.due_date.isoformat():>10} {row.principal:>14,} "
            f"{row.interest:>12,} {row.fees:>9,} {row.fee_vat:>8,} {row.total:>14,} "
            f"{row.balance_after:>15,}"
        )
    print(
        f"origination fee {format_idr(quote.origination_fee)} + VAT "
        f"{format_idr(quote.origination_fee_vat)}; borrower receives "
        f"{format_idr(quote.net_disbursement)}; repays {format_idr(quote.total_repayment)}"
    )
    verdict = "compliant" if check.compliant else "NOT compliant"
    print(f"daily cost rate {quote.daily_cost_rate * 100:.4f}% per day -> {verdict} with OJK caps")
    for violation in check.violations:
        print(f"  - {violation.rule}: {violation.detail} ({violation.source})")
    print()
    return quote


def show_decisions(on: date) -> None:
    card = load_scorecard("v1")
    print(f"== Five-C decisions (scorecard {card.model_version}) ==")
    for key, persona in load_personas().items():
        decision = score(persona.scoring_application(), persona.provider_data(), card)
        p = decision.points
        print(
            f"{key:<10} {persona.business.name:<28} score {decision.total_score:>4}/"
            f"{decision.max_score} grade {decision.grade:<2} -> {decision.decision.upper():<7}"
            f" [Ch {p.character} Ca {p.capacity} Cp {p.capital} Co {p.collateral}"
            f" Cn {p.condition}]"
        )
        for reason in decision.reasons[:3]:
            print(f"{'':<12}- {reason.message}")
    print()


def show_split(product: products.LoanProduct, quote: products.Quote, on: date) -> None:
    first = quote.schedule.installments[0]
    # The installment already carries the VAT on its service fee
    # (docs/lending-rules.md#fees-and-taxes: borrower
    # fees go to the platform with their VAT), so what is collected is its total.
    collected = InstallmentParts(
        fee=rupiah(first.fees),
        fee_vat=rupiah(first.fee_vat),
        interest=rupiah(first.interest),
        principal=rupiah(first.principal),
    )
    lenders = [
        LenderStake("lender-ayu", rupiah(quote.principal * 50 // 100), LenderTaxProfile(True)),
        LenderStake("lender-budi", rupiah(quote.principal * 30 // 100), LenderTaxProfile(True)),
        LenderStake(
            "lender-sg-fund",
            rupiah(quote.principal - quote.principal * 80 // 100),
            LenderTaxProfile(False, Decimal("0.10"), certificate_of_domicile_on_file=True),
        ),
    ]
    split = split_to_lenders(collected, lenders, product.lender_platform_fee_rate, on)
    print(f"== Split of installment 1 ({format_idr(collected.total)}) to three lenders ==")
    print(
        f"{'lender':<15} {'principal':>11} {'interest':>10} {'fee':>8} {'VAT':>7} "
        f"{'tax':>8} {'net':>11}"
    )
    for line in split.lines:
        print(
            f"{line.lender_id:<15} {line.principal:>11,} {line.interest:>10,} "
            f"{line.platform_fee:>8,} {line.vat:>7,} {line.withholding:>8,} {line.net:>11,}"
            f"  {line.withholding_article.value}"
        )
    print(
        f"platform: borrower fees {format_idr(collected.fee)} + VAT "
        f"{format_idr(collected.fee_vat)}; lender fees "
        f"{format_idr(split.lender_platform_fees)} + VAT {format_idr(split.lender_fee_vat)}; "
        f"withholding {format_idr(split.withholding)}"
    )
    print(
        f"check: everything adds up to {format_idr(split.total)} "
        f"(collected {format_idr(collected.total)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--product", default="working-capital-annuity")
    parser.add_argument("--principal", type=int, default=50_000_000)
    parser.add_argument("--tenor", type=int, default=6)
    parser.add_argument("--on", type=date.fromisoformat, default=date(2026, 12, 1))
    args = parser.parse_args(argv)
    product = _catalogue().get(args.product)
    quote = show_quote(product, args.principal, args.tenor, args.on)
    show_decisions(args.on)
    show_split(product, quote, args.on)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
