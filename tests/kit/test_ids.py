"""Our ULIDs read back as ULIDs in an independent implementation (python-ulid)."""

from __future__ import annotations

import time

from ulid import ULID

from smshub.kit.ids import new_id


def test_ids_are_ulids_of_now() -> None:
    for _ in range(2000):
        before = time.time()
        made = new_id()
        parsed = ULID.from_str(made)
        assert str(parsed) == made and len(made) == 26
        assert before - 0.002 <= parsed.timestamp <= time.time() + 0.002


def test_ids_sort_by_time_and_do_not_repeat() -> None:
    first = new_id()
    time.sleep(0.003)
    later = [new_id() for _ in range(5000)]
    assert all(first < x for x in later)
    assert len(set(later)) == len(later)


def test_ids_made_in_one_millisecond_keep_their_order() -> None:
    made = [new_id() for _ in range(20_000)]
    assert made == sorted(made)


def test_the_random_part_counts_up_across_its_halves(monkeypatch) -> None:
    from smshub.kit import ids

    ms = time.time_ns() // 1_000_000 + 60_000  # ahead of the clock: same "millisecond"
    start = (5 << 40) - 2  # two steps before the low 40 bits carry into the high ones
    monkeypatch.setattr(ids, "_last", (ms, ids._time_digits(ms), start, ids._digits40(start >> 40)))
    made = [ULID.from_str(ids.new_id()) for _ in range(4)]
    assert [int(u) & ((1 << 80) - 1) for u in made] == [start + 1 + i for i in range(4)]
    assert {int(u.milliseconds) for u in made} == {ms}
