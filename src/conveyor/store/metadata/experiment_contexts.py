"""Experiments and their runs as contexts: Vertex AI Experiments' `system.Experiment`, and
`system.ExperimentRun` whose parent is its experiment.

A run's context is named `{experiment}-{run}`, as Vertex AI names it, and its properties
hold what was logged to it, in one JSON object, as Vertex AI keeps them in the run's
metadata:

    experiment, run_name    the names it was given
    run_type                system.ExperimentRun (logged from Python or MLflow), or
                            system.PipelineRun (a pipeline run that joined the experiment)
    pipeline_run            that pipeline run's id, else None
    state, ended_at         RUNNING until `end_run`; a pipeline run's own status wins
    params, metrics         summary values by key
    time_series             the last point of each time series: {key: {step, value}}
                            (the points themselves are rows of `experiment_time_series`)
    labels                  string labels (MLflow's tags)

The store makes a pipeline run's experiment run in the transaction that records the run
(`MetadataStore.create_run(experiment=...)`); `conveyor.experiments` does the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select

from conveyor.errors import UsageError
from conveyor.store.metadata.errors import ExperimentRunExists
from conveyor.store.metadata.kinds import EXPERIMENT_RUN, ExperimentRunState
from conveyor.store.metadata.mlmd_tables import CONTEXTS

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""An experiment's or a run's name (`check_name`)."""
MAX_CONTEXT_NAME = 255
"""The length of a context's name: an experiment's and a run's names together, with `-`."""
MAX_LABEL_KEY, MAX_LABEL_VALUE = 250, 5000


def check_name(value: object, what: str) -> str:
    """An experiment's or run's name: 1 to 128 letters, digits, `.`, `_` or `-`, starting
    with a letter or digit (Vertex AI takes the lowercase ones with `-`)."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise UsageError(
            f"{what} name {value!r} is not valid: use 1 to 128 letters, digits, '.', '_' or "
            "'-', starting with a letter or digit"
        )
    return value


def check_labels(labels: Mapping[str, Any] | None) -> dict[str, str]:
    """Labels as strings by key; keys of at most 250 characters, values of at most 5000."""
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise UsageError(f"labels must be a mapping of keys to strings, not {labels!r}")
    checked: dict[str, str] = {}
    for key, value in labels.items():
        if not isinstance(key, str) or not key or len(key) > MAX_LABEL_KEY:
            raise UsageError(f"label key {key!r} must be 1 to {MAX_LABEL_KEY} characters")
        if not isinstance(value, str) or len(value) > MAX_LABEL_VALUE:
            raise UsageError(
                f"label {key!r} must be a string of at most {MAX_LABEL_VALUE} characters, "
                f"not {value!r}"
            )
        checked[key] = value
    return checked


def run_context_name(experiment: str, run: str) -> str:
    name = f"{experiment}-{run}"
    if len(name) > MAX_CONTEXT_NAME:
        raise UsageError(
            f"experiment {experiment!r} and run {run!r} are too long together: their names "
            f"joined by '-' must fit in {MAX_CONTEXT_NAME} characters"
        )
    return name


def find(conn: Connection, type_id: int, name: str) -> int | None:
    """The id of the context of type `type_id` named `name`, if there is one."""
    return conn.execute(
        select(CONTEXTS.c.id).where(CONTEXTS.c.type_id == type_id, CONTEXTS.c.name == name)
    ).scalar()


def ensure_experiment(
    conn: Connection, type_id: int, name: str, description: str | None, stamp: Any
) -> int:
    """The id of experiment `name`, made (with `description`) if it does not exist."""
    found = find(conn, type_id, check_name(name, "experiment"))
    if found is not None:
        return found
    return conn.execute(
        insert(CONTEXTS)
        .values(
            type_id=type_id,
            name=name,
            parent_id=None,
            properties={"description": description},
            created_at=stamp,
            updated_at=stamp,
        )
        .returning(CONTEXTS.c.id)
    ).scalar_one()


def new_run_properties(
    experiment: str,
    run: str,
    *,
    run_type: str = EXPERIMENT_RUN,
    pipeline_run: str | None = None,
    params: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "experiment": experiment,
        "run_name": run,
        "run_type": run_type,
        "pipeline_run": pipeline_run,
        "state": ExperimentRunState.RUNNING.value,
        "ended_at": None,
        "params": dict(params or {}),
        "metrics": {},
        "time_series": {},
        "labels": dict(labels or {}),
    }


def create_run(
    conn: Connection,
    type_id: int,
    experiment_id: int,
    properties: dict[str, Any],
    stamp: Any,
) -> int:
    """Record an experiment run (`new_run_properties`) in experiment `experiment_id`; its
    context id. `ExperimentRunExists` if the experiment has a run of that name."""
    experiment, run = properties["experiment"], check_name(properties["run_name"], "run")
    name = run_context_name(experiment, run)
    taken = conn.execute(
        select(CONTEXTS.c.parent_id).where(CONTEXTS.c.type_id == type_id, CONTEXTS.c.name == name)
    ).first()
    if taken is not None:
        where = (
            f"experiment {experiment!r} has a run named {run!r} already"
            if taken.parent_id == experiment_id
            else f"the name {name!r} is taken by a run of another experiment"
        )
        raise ExperimentRunExists(f"{where}; give the run another name, or resume it")
    return conn.execute(
        insert(CONTEXTS)
        .values(
            type_id=type_id,
            name=name,
            parent_id=experiment_id,
            properties=properties,
            created_at=stamp,
            updated_at=stamp,
        )
        .returning(CONTEXTS.c.id)
    ).scalar_one()
