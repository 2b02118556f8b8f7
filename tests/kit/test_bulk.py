"""Bulk INSERT and UPDATE (kit.bulk): the same rows land as a plain insert would store
them, on both engines, with every column type the hot paths use."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Table, select

from smshub.kit.bulk import _rows_json, insert_rows, update_rows
from smshub.models import Job

JOBS = cast(Table, Job.__table__)
T0 = datetime(2026, 11, 29, 12, 0, 0, 123456, tzinfo=UTC)


def _job(i: int, **over: Any) -> dict[str, Any]:
    return {
        "id": f"01JOB{i:021d}",
        "kind": "k",
        "payload": {"n": i, "text": "ünï 😀", "nested": [1, None, True]},
        "status": "pending",
        "run_at": T0 + timedelta(seconds=i),
        "attempts": i,
        "max_attempts": 5,
        "backoff": "fixed",
        "retry_delay_s": 0.25 * i,
        "max_delay_s": 60.0,
        "idempotency_key": None if i % 2 else f"key-{i}",
        "created_at": T0,
        **over,
    }


async def _jobs(sessions) -> dict[str, Job]:
    async with sessions() as s:
        return {j.id: j for j in (await s.execute(select(Job))).scalars()}


async def test_insert_rows_stores_every_type_as_given(sessions):
    rows = [_job(i) for i in range(5)]
    async with sessions() as s:
        await insert_rows(s, JOBS, rows)
        await s.commit()
    got = await _jobs(sessions)
    assert len(got) == 5
    for r in rows:
        j = got[r["id"]]
        assert j.payload == r["payload"]
        assert j.run_at == r["run_at"] and j.run_at.tzinfo is not None
        assert (j.attempts, j.retry_delay_s, j.idempotency_key) == (
            r["attempts"],
            r["retry_delay_s"],
            r["idempotency_key"],
        )
    # The stored datetimes compare with ones written by the ORM.
    async with sessions() as s:
        due = await s.execute(select(Job.id).where(Job.run_at <= T0 + timedelta(seconds=2)))
        assert sorted(due.scalars()) == sorted(r["id"] for r in rows[:3])


async def test_insert_rows_on_conflict_skips_taken_keys(sessions):
    clause = "ON CONFLICT (idempotency_key) DO NOTHING"
    async with sessions() as s:
        await insert_rows(s, JOBS, [_job(0)], on_conflict=clause)
        await insert_rows(s, JOBS, [_job(1, idempotency_key="key-0"), _job(2)], on_conflict=clause)
        await s.commit()
    assert sorted(await _jobs(sessions)) == [_job(0)["id"], _job(2)["id"]]


async def test_insert_rows_with_no_rows_does_nothing(sessions):
    async with sessions() as s:
        await insert_rows(s, JOBS, [])
        await update_rows(s, JOBS, "id", [])
    assert await _jobs(sessions) == {}


async def test_update_rows_sets_each_rows_own_values_and_nulls(sessions):
    rows = [_job(i) for i in range(4)]
    async with sessions() as s:
        await insert_rows(s, JOBS, rows)
        await update_rows(
            s,
            JOBS,
            "id",
            [
                {"id": rows[0]["id"], "status": "done", "finished_at": T0, "locked_by": None},
                {"id": rows[2]["id"], "status": "dead", "finished_at": None, "locked_by": "w"},
            ],
        )
        await s.commit()
    got = await _jobs(sessions)
    assert got[rows[0]["id"]].status == "done" and got[rows[0]["id"]].finished_at == T0
    assert got[rows[2]["id"]].status == "dead" and got[rows[2]["id"]].locked_by == "w"
    assert got[rows[2]["id"]].finished_at is None
    assert {got[rows[i]["id"]].status for i in (1, 3)} == {"pending"}


async def test_insert_rows_refuses_rows_without_a_defaulted_column(sessions):
    """Python-side defaults are not applied in bulk: a row must carry those columns."""
    import pytest

    row = _job(0)
    del row["attempts"]
    async with sessions() as s:
        with pytest.raises(ValueError, match="attempts"):
            await insert_rows(s, JOBS, [row])


async def test_a_bulk_write_to_a_cached_table_drops_the_cache(sessions):
    from smshub.kit.cache import cache
    from smshub.models import Tenant

    loads: list[int] = []

    async def load() -> int:
        loads.append(1)
        return len(loads)

    async with sessions() as s:
        s.add(Tenant(id="01J0000000000000000000000T", name="T", slug="t", created_at=T0))
        await s.commit()
    assert await cache.get(("probe",), load) == 1
    assert await cache.get(("probe",), load) == 1  # cached
    async with sessions() as s:
        await update_rows(
            s,
            cast(Table, Tenant.__table__),
            "id",
            [{"id": "01J0000000000000000000000T", "name": "U"}],
        )
        await s.commit()
    assert await cache.get(("probe",), load) == 2


async def test_bulk_rows_are_part_of_the_sessions_transaction(sessions):
    """They go to the driver connection, but commit or roll back with the session."""
    async with sessions() as s:
        await insert_rows(s, JOBS, [_job(0)])
        await update_rows(s, JOBS, "id", [{"id": _job(0)["id"], "attempts": 9}])
        await s.rollback()
    assert await _jobs(sessions) == {}
    async with sessions() as s:
        await insert_rows(s, JOBS, [_job(1)])
        await s.commit()
    async with sessions() as s:
        await update_rows(s, JOBS, "id", [{"id": _job(1)["id"], "attempts": 9}])
        await s.rollback()
    assert (await _jobs(sessions))[_job(1)["id"]].attempts == 1


def test_rows_json_matches_the_stdlib_encoder_and_refuses_naive_times() -> None:
    rows = [{"at": T0, "text": "ünï 😀", "n": 1.5, "none": None, "list": [1, "a"]}]
    assert json.loads(_rows_json(rows))[0] == {**rows[0], "at": T0.isoformat()}
    # A lone surrogate cannot be UTF-8: the stdlib encoder writes it, as it always did.
    assert json.loads(_rows_json([{"text": "a\ud800b"}])) == [{"text": "a\ud800b"}]
    with pytest.raises(ValueError, match="naive"):
        _rows_json([{"at": T0.replace(tzinfo=None)}])
