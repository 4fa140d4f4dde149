"""Splitting a table into train and eval rows: at random, by a key's hash, or stratified.

- `random`: a seeded shuffle; the same data and seed give the same split.
- `hash`: a row goes to eval when the hash of its key column (SHA-256 of the
  value's text) falls in the first `eval_fraction` of the hash range, as TFX's
  partition feature does: a key keeps its split across spans and reruns, so
  one customer's rows never land on both sides.
- `stratified`: each value of the stratify column is split in the same
  proportion (scikit-learn's `train_test_split` with `stratify`).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from conveyor.components._lib.errors import ComponentError

METHODS = ("random", "hash", "stratified")
_BUCKETS = 10_000


def split(
    frame: pd.DataFrame,
    method: str = "random",
    eval_fraction: float = 0.2,
    key_column: str = "",
    stratify_column: str = "",
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train rows, eval rows)."""
    if method not in METHODS:
        raise ComponentError(f"method {method!r} is not one of {', '.join(METHODS)}")
    if not 0 < eval_fraction < 1:
        raise ComponentError(f"eval_fraction must be between 0 and 1, not {eval_fraction}")
    if len(frame) < 2:
        raise ComponentError(f"there are {len(frame)} rows; a split needs at least 2")
    if method == "hash":
        to_eval = _hashed(frame, key_column, eval_fraction)
    elif method == "stratified":
        to_eval = _stratified(frame, stratify_column, eval_fraction, seed)
    else:
        order = np.random.default_rng(seed).permutation(len(frame))
        to_eval = np.zeros(len(frame), dtype=bool)
        to_eval[order[: _eval_count(len(frame), eval_fraction)]] = True
    train, held = frame[~to_eval].reset_index(drop=True), frame[to_eval].reset_index(drop=True)
    if train.empty or held.empty:
        raise ComponentError(
            f"the {method} split left the {'train' if train.empty else 'eval'} side empty "
            f"({len(frame)} rows, eval_fraction {eval_fraction})"
        )
    return train, held


def _eval_count(rows: int, fraction: float) -> int:
    return min(rows - 1, max(1, round(rows * fraction)))


def _hashed(frame: pd.DataFrame, key: str, fraction: float) -> np.ndarray:
    if not key:
        raise ComponentError("the hash split needs key_column: the column whose hash decides")
    _require(frame, key, "key_column")
    buckets = np.fromiter(
        (
            int.from_bytes(hashlib.sha256(str(v).encode()).digest()[:8], "big") % _BUCKETS
            for v in frame[key]
        ),
        dtype=np.int64,
        count=len(frame),
    )
    return buckets < fraction * _BUCKETS


def _stratified(frame: pd.DataFrame, column: str, fraction: float, seed: int) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    if not column:
        raise ComponentError("the stratified split needs stratify_column: usually the label")
    _require(frame, column, "stratify_column")
    values = frame[column].astype(str).fillna("")
    try:
        _, held = train_test_split(
            np.arange(len(frame)), test_size=fraction, random_state=seed, stratify=values
        )
    except ValueError as error:
        raise ComponentError(
            f"the stratified split on {column!r} is not possible: {error}"
        ) from None
    to_eval = np.zeros(len(frame), dtype=bool)
    to_eval[held] = True
    return to_eval


def _require(frame: pd.DataFrame, column: str, parameter: str) -> None:
    if column not in frame.columns:
        raise ComponentError(
            f"{parameter} {column!r} is not a column; the data has {', '.join(map(str, frame.columns))}"
        )
