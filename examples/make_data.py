"""Make a small, realistic churn data set: one span of customer records at a time.

    python examples/make_data.py --span 1 --out data     # data/span-1/customers-*.csv
    python examples/make_data.py --span 2 --out data     # a later span: more rows, shifted

Each row is a customer of a subscription business: an id, how long they have been a
customer, their contract, internet service, payment method, monthly charges, support
calls (missing for a few), whether they are senior citizens and use paperless
billing, and `churned` (1 when they left). Churn follows a logistic model of these
features, so a classifier can learn it but not perfectly.

Span 1 holds 2,000 customers. Span 2 holds 3,000 newer ones, and the market has
moved: more fiber customers paying more, whose churn rises with their charges more
than before. The same span and seed always give the same files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = {1: 2000, 2: 3000}
ROWS_PER_FILE = 1000
CONTRACTS = ["month-to-month", "one-year", "two-year"]
INTERNET = ["fiber", "dsl", "none"]
PAYMENTS = ["electronic-check", "mailed-check", "bank-transfer", "credit-card"]


def customers(span: int, rows: int, seed: int = 0, first_id: int = 1) -> pd.DataFrame:
    """`rows` customers of span `span`; span 2 and later are shifted (see the module)."""
    rng = np.random.default_rng(seed * 1000 + span)
    shifted = span >= 2
    contract = rng.choice(CONTRACTS, rows, p=[0.55, 0.25, 0.20])
    internet = rng.choice(INTERNET, rows, p=[0.52, 0.36, 0.12] if shifted else [0.42, 0.40, 0.18])
    payment = rng.choice(PAYMENTS, rows, p=[0.34, 0.22, 0.22, 0.22])
    longest = np.where(contract == "two-year", 72, np.where(contract == "one-year", 60, 48))
    tenure = np.maximum(1, (rng.beta(1.1, 1.6, rows) * longest).round()).astype(int)
    base = np.select([internet == "fiber", internet == "dsl"], [80.0, 55.0], 22.0)
    charges = (base + rng.normal(0, 9, rows) + (4.0 if shifted else 0.0)).clip(18, 120).round(2)
    calls = rng.poisson(0.9 + 0.8 * (internet == "fiber"), rows).astype(float)
    calls[rng.choice(rows, max(1, rows // 70), replace=False)] = np.nan  # not recorded
    senior = rng.random(rows) < 0.16
    paperless = rng.random(rows) < np.where(internet == "none", 0.35, 0.65)

    logit = (
        -1.1
        + 1.4 * (contract == "month-to-month")
        - 1.0 * (contract == "two-year")
        - 0.04 * tenure
        + 0.025 * (charges - 65)
        + 0.45 * np.nan_to_num(calls, nan=1.0)
        + 0.55 * (payment == "electronic-check")
        + 0.35 * senior
        + 0.2 * paperless
    )
    if shifted:  # fiber customers now leave faster as their bills grow
        logit = logit + (internet == "fiber") * (0.5 + 0.03 * (charges - 80))
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "customer_id": [f"C{n:06d}" for n in range(first_id, first_id + rows)],
            "tenure_months": tenure,
            "contract": contract,
            "internet_service": internet,
            "payment_method": payment,
            "monthly_charges": charges,
            "support_calls": calls,
            "senior_citizen": senior,
            "paperless_billing": paperless,
            "churned": churned,
        }
    )


def write_span(out: Path, span: int, seed: int = 0) -> list[Path]:
    """Write span `span` as CSV files of 1,000 rows under `out/span-N/`; their paths."""
    first_id = 1 + sum(ROWS.get(s, 0) for s in range(1, span))
    frame = customers(span, ROWS.get(span, 3000), seed, first_id)
    folder = out / f"span-{span}"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for part, start in enumerate(range(0, len(frame), ROWS_PER_FILE), start=1):
        path = folder / f"customers-{part:03d}.csv"
        frame.iloc[start : start + ROWS_PER_FILE].to_csv(path, index=False)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--span", type=int, default=1, help="the span to write (1, 2, ...)")
    parser.add_argument("--out", type=Path, default=Path("data"), help="the data folder")
    parser.add_argument("--seed", type=int, default=0, help="another seed, another data set")
    args = parser.parse_args()
    written = write_span(args.out, args.span, args.seed)
    rows = sum(len(pd.read_csv(p)) for p in written)
    print(f"span {args.span}: {rows} customers in {len(written)} files under {written[0].parent}")


if __name__ == "__main__":
    main()
