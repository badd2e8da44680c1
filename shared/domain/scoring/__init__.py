"""Five-C credit scoring: the scorecard format, knock-out rules, and `score`.

Modules, so that a function imports only what it uses: `providers` (what the
credit-data providers answer), `features` (the application and every feature the
engine computes), `scorecard` (the versioned file format and its validation), `engine`
(knock-outs, points, grade and decision). Nothing is re-exported here.

Contract
--------
``score(application, provider_data, scorecard) -> ScoreDecision`` is pure and
takes well under a millisecond: it never raises for missing data and never
does I/O. The caller (the scoring use case) loads the scorecard once
(`load_scorecard`), computes the new loan's monthly installment, asks the
providers for their data, and passes everything in.

1. Knock-out rules run first. Any of them rejects the application whatever the
   score: the civil registry does not match the applicant (NIK not found, name
   or date of birth differ); the credit bureau reports collectability worse
   than the scorecard allows (4 or 5) in the last 12 months; the applicant is
   under the minimum age today or over the maximum age at maturity; or the
   platform outstanding plus the requested principal exceeds the scorecard's
   borrower limit (which `parse_scorecard` holds to the cap table's
   `borrower_outstanding` row, Rp 2,000,000,000 under POJK 10/POJK.05/2022).
2. Every characteristic of the scorecard gets the points of the bin its value
   falls in; a value that cannot be computed (no bureau record, too few months
   of sales, a figure the applicant left out, a provider that did not answer)
   gets the characteristic's ``missing_points``, which the scorecard may never
   set above the best bin, so withholding data never pays.
3. The total (``base_points`` plus every characteristic) picks the grade and
   its offer (rate per month, maximum amount); the decision thresholds pick
   approve / review / reject, except that:
   - a provider that was unavailable (timed out, failed, or `None`) sends the
     application to ``review`` with the provider's reason;
   - a thin file (at least ``thin_file.min_missing_characteristics``
     characteristics without data) goes to ``review``: a human decides when
     the evidence is too thin either way;
   - an ``approve`` whose principal exceeds the grade's maximum amount becomes
     ``review``.
4. Reasons: knock-outs, unavailable providers, thin file and amount first,
   then the characteristics that cost the most points (best bin minus points
   earned), at most ``top_reasons`` of them.

The scorecard is data (`shared/domain/scorecards/v<N>.json`, documented in
that folder's README). `parse_scorecard` validates structure and meaning (bins
cover the whole line without gaps, points move in the declared direction,
grades and thresholds are ordered, every feature is one the engine computes and
sits under its C) and raises `ValidationFailed` with one message per field.
"""
