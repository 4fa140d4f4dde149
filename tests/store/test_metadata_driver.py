"""Statements run on the driver's cursor answer as SQLAlchemy's own execution does, with
the same Python values on SQLite and PostgreSQL (each test runs on both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from psycopg.pq import TransactionStatus
from sqlalchemy import String, bindparam, exists, literal, select, text

from conveyor.store.metadata import ExecutionState, driver
from conveyor.store.metadata.models import Event, Execution, Json, UtcDateTime


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
    assert found == tuple(expected)
    assert (found.id, found.output_parameters, found.constant) == (done, {"n": 3}, {"made": "here"})
    with store._read() as conn:
        later = {**params, "since": datetime.now(UTC) + timedelta(hours=1)}
        assert driver.prepared(statement, conn.dialect).first(conn, later) is None


def test_rows_are_named_and_decoded_alike_on_every_database(store):
    store.create_run("r1", "p")
    done = store.create_execution(
        "r1", "train", parameters={"lr": 0.1, "layers": [2, 3]}, cache_key_parts={"a": {"b": 1}}
    )
    store.create_artifact("file:///m", "system.Model", "model", output_of=done)
    store.finish_execution(done, ExecutionState.COMPLETE, outputs={"n": 3})
    store.create_execution("r1", "evaluate", state=ExecutionState.NEW)  # not started
    outputs = select(Event.id).where(Event.execution_id == Execution.id)
    statement = select(
        Execution.id,
        Execution.input_parameters,
        Execution.cache_key_parts,
        Execution.started_at,
        Execution.ended_at,
        exists(outputs).label("has_outputs"),
    ).order_by(Execution.id)
    with store._read() as conn:
        expected = conn.execute(statement).all()
        found = driver.prepared(statement, conn.dialect).all(conn, {})
    assert [row._fields for row in found] == [tuple(row._fields) for row in expected]
    assert found == [tuple(row) for row in expected]
    assert [[type(v) for v in row] for row in found] == [[type(v) for v in row] for row in expected]
    first, second = found
    assert first.id == done
    assert first.input_parameters == {"lr": 0.1, "layers": [2, 3]}
    assert first.cache_key_parts == {"a": {"b": 1}}
    assert first.ended_at.utcoffset() == timedelta(0) and first.started_at <= first.ended_at
    assert first.has_outputs is True
    assert (second.cache_key_parts, second.started_at, second.has_outputs) == (None, None, False)


def test_a_text_statement_has_named_rows_as_the_driver_gives_them(store):
    statement = text("SELECT 1 AS one, 'two' AS two")
    with store._read() as conn:
        found = driver.prepared(statement, conn.dialect).first(conn, {})
    assert (found.one, found.two) == (1, "two")


def test_a_statement_is_compiled_once_per_kind_of_database(store):
    statement = select(Execution.id).where(Execution.id == bindparam("id"))
    with store._read() as conn:
        assert driver.prepared(statement, conn.dialect) is driver.prepared(statement, conn.dialect)


def test_a_read_of_one_statement_leaves_no_transaction_open(store):
    """Whichever way it went, through the driver (PostgreSQL's begins a transaction for
    it) or through SQLAlchemy, a one-statement read on the held connection ends there."""
    store.create_run("r1", "p")
    with store.held_connection():
        held = store._held.connection
        assert store.find_cached("p", "k") is None  # on the driver's cursor
        assert not held.in_transaction() and not _driver_in_transaction(held)
        with store._read_one() as conn:
            assert conn.execute(select(Execution.id)).all() == []  # through SQLAlchemy
        assert not held.in_transaction() and not _driver_in_transaction(held)
        store.create_run("r2", "p")  # and a write begins afresh


def _driver_in_transaction(conn):
    driver_connection = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        return driver_connection.in_transaction
    return driver_connection.info.transaction_status != TransactionStatus.IDLE
