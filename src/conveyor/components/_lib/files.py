"""Reading and writing the files of artifacts: Parquet tables and JSON documents.

A Dataset is one Parquet file at the artifact's path. Inputs are read more
liberally, so that imported data works too: a Parquet or CSV file, or a folder
of them (hidden files and `_SUCCESS`-style markers are skipped).
JSON artifacts (statistics, schema, anomalies, evaluation, blessing) are one
JSON file at the artifact's path, or the single `.json` file in its folder.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from conveyor.components._lib.errors import ComponentError

PARQUET_MAGIC = b"PAR1"
TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".tsv")


def read_table(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of a Parquet or CSV file, or of every such file in a folder, as one frame."""
    path = Path(path)
    if path.is_dir():
        files = table_files(path)
        if not files:
            raise ComponentError(
                f"{path} holds no Parquet or CSV files (looked for {', '.join(TABLE_SUFFIXES)})"
            )
        frames = [read_table(f, columns) for f in files]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if not path.exists():
        raise ComponentError(f"{path} does not exist: the input dataset was not written")
    if is_parquet(path):
        return pd.read_parquet(path, columns=columns)
    sep = "\t" if path.name.endswith(".tsv") else ","
    return pd.read_csv(path, usecols=columns, sep=sep)


def table_files(folder: Path) -> list[Path]:
    """The data files under a folder, sorted, skipping hidden and underscore files."""
    found = []
    for file in sorted(folder.rglob("*")):
        parts = file.relative_to(folder).parts
        if file.is_file() and not any(p.startswith((".", "_")) for p in parts):
            found.append(file)
    return found


def is_parquet(path: Path) -> bool:
    if path.suffix in (".parquet", ".pq"):
        return True
    with open(path, "rb") as f:
        return f.read(4) == PARQUET_MAGIC


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a frame as one Parquet file (no index), making the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)


def read_json(path: str | Path, what: str) -> Any:
    """The JSON document of an artifact: the file itself, or the one `.json` file in its folder."""
    path = Path(path)
    if path.is_dir():
        candidates = sorted(path.glob("*.json"))
        if len(candidates) != 1:
            raise ComponentError(
                f"the {what} artifact {path} is a folder with {len(candidates)} JSON files; "
                "it should be one JSON file"
            )
        path = candidates[0]
    if not path.exists():
        raise ComponentError(f"the {what} artifact {path} does not exist")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ComponentError(f"the {what} artifact {path} is not valid JSON: {error}") from None


def write_json(document: Any, path: str | Path) -> None:
    """Write plain JSON (numpy values converted, NaN and infinity refused), indented."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plain(document), indent=2, allow_nan=False) + "\n")


def plain(value: Any) -> Any:
    """`value` as JSON-ready Python: numpy scalars and arrays converted, NaN and inf to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
