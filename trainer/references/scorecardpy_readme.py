"""The scorecardpy README pipeline, under the benchmark's splits; prints JSON.

Runs in its own virtualenv (scorecardpy needs pandas < 2.3), never in the
project's: `python scorecardpy_readme.py germancredit.csv`. For each seed it
fits the README's steps (var_filter, woebin with its manual breaks, woebin_ply,
L1 logistic regression C=0.9) twice: as the README does, with var_filter and
woebin on all 1,000 rows ("leaky"), and with both on the 70% training split only
("protocol"). Gini is measured on the held-out 30% either way.
"""

import json
import sys
import warnings

import pandas as pd
import scorecardpy as sc
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

BREAKS_ADJ = {
    "age.in.years": [26, 35, 40],
    "other.debtors.or.guarantors": ["none", "co-applicant%,%guarantor"],
}


def main(path: str) -> None:
    warnings.filterwarnings("ignore")
    data = pd.read_csv(path)
    data["creditability"] = (data["creditability"] == "bad").astype(int)
    out: dict[str, list[float]] = {"leaky": [], "protocol": []}
    for seed in range(5):
        train, test = train_test_split(
            data, test_size=0.3, stratify=data["creditability"], random_state=seed
        )
        for variant, fit_on in (("leaky", data), ("protocol", train)):
            kept = sc.var_filter(fit_on, y="creditability")
            bins = sc.woebin(kept, y="creditability", breaks_list=BREAKS_ADJ, print_step=0)
            columns = list(kept.columns)
            train_woe = sc.woebin_ply(train[columns], bins, print_step=0)
            test_woe = sc.woebin_ply(test[columns], bins, print_step=0)
            y_train = train_woe.pop("creditability")
            y_test = test_woe.pop("creditability")
            model = LogisticRegression(penalty="l1", C=0.9, solver="saga", n_jobs=-1)
            model.fit(train_woe, y_train)
            predicted = model.predict_proba(test_woe[train_woe.columns])[:, 1]
            out[variant].append(float(2 * roc_auc_score(y_test, predicted) - 1))
    print(json.dumps(out))  # noqa: T201 - the benchmark reads stdout


if __name__ == "__main__":
    main(sys.argv[1])
