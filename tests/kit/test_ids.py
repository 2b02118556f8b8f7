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
