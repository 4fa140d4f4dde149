"""Statements run on the driver's cursor answer as SQLAlchemy's own execution does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, bindparam, literal, select

from conveyor.store.metadata import ExecutionState, driver
from conveyor.store.metadata.models import Execution, Json, UtcDateTime


def test_bound_parameters_and_rows_match_sqlalchemy(store):
    store.create_run("r1", "p")
    done = store.create_execution("r1", "train", parameters={"lr": 0.1}, cache_key="k")
    store.finish_execution(done, ExecutionState.COMPLETE, outputs={"n": 3})
    store.create_execution("r1", "evaluate", cache_key="k")  # still RUNNING
    statement = select(
        Execution.id,
        Execution.output_parameters,
        literal({"made": "here"}, Json).label("constant"),
    ).where(
        Execution.cache_key == bindparam("key", type_=String()),
        Execution.state == ExecutionState.COMPLETE,  # an enum, bound as its value
        Execution.ended_at >= bindparam("since", type_=UtcDateTime()),
    )
    params = {"key": "k", "since": datetime.now(UTC) - timedelta(hours=1)}
    with store._read() as conn:
        expected = conn.execute(statement, params).one()
        found = driver.prepared(statement, conn.dialect).first(conn, params)
    assert found[0] == expected.id == done
    assert [_json(v) for v in found[1:]] == [{"n": 3}, {"made": "here"}]
    with store._read() as conn:
        later = {**params, "since": datetime.now(UTC) + timedelta(hours=1)}
        assert driver.prepared(statement, conn.dialect).first(conn, later) is None


def test_a_statement_is_compiled_once_per_kind_of_database(store):
    statement = select(Execution.id).where(Execution.id == bindparam("id"))
    with store._read() as conn:
        assert driver.prepared(statement, conn.dialect) is driver.prepared(statement, conn.dialect)


def _json(value):
    return json.loads(value) if isinstance(value, str) else value
