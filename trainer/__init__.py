"""Offline scorecard trainer: learns a five-C scorecard file from repayment outcomes.

Runs on a developer's or an analyst's machine (`python -m trainer ...`, or
`python3 dev.py nox -s trainer` for the public benchmark), never inside a
Cloud Function: nothing under `shared/` or `functions/` imports this package,
and the runtime scores with the JSON file it writes alone.

Modules:
- `fitting`: WOE binning with monotonic constraints, logistic regression and
  scaling to integer points, through optbinning; the trainer's own scorer.
- `metrics`: Gini, KS and the population stability index.
- `table`: the training table (one row per disbursed loan) and its CSV form.
- `firestore_export`: builds that table from the platform's Firestore, in pages.
- `scorecard_file`: turns a fitted model into `shared/domain/scorecards/v<N>.json`.
- `model_card`: the Markdown model card that goes beside the file.
- `synthetic`: a synthetic applicant population with a known default model.
- `german_credit` and `benchmark`: the public benchmark protocol and its report.
"""
