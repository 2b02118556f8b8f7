"""next_delay and RetryPolicy: pure, so table tests and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smshub.kit.jobs import RetryPolicy, next_delay, truncate_error

EXP = RetryPolicy(max_attempts=10, backoff="exponential", retry_delay_s=5.0, max_delay_s=60.0)
FIXED = RetryPolicy(max_attempts=10, backoff="fixed", retry_delay_s=1800.0, max_delay_s=60.0)


@pytest.mark.parametrize(
    ("policy", "attempts", "rand", "expected"),
    [
        # exponential: ceiling 5 * 2**(n-1) capped at 60, delay in [ceiling/2, ceiling]
        (EXP, 1, 1.0, 5.0),
        (EXP, 1, 0.0, 2.5),
        (EXP, 1, 0.5, 3.75),
        (EXP, 2, 1.0, 10.0),
        (EXP, 3, 1.0, 20.0),
        (EXP, 4, 0.0, 20.0),
        (EXP, 4, 1.0, 40.0),
        (EXP, 5, 1.0, 60.0),  # 80 capped
        (EXP, 5, 0.0, 30.0),
        (EXP, 10_000, 1.0, 60.0),  # no overflow
        # fixed: the interval, whatever the attempt, rand and cap
        (FIXED, 1, 0.0, 1800.0),
        (FIXED, 7, 0.9, 1800.0),
        (RetryPolicy(retry_delay_s=0.0, max_delay_s=0.0), 3, 0.7, 0.0),
    ],
)
def test_next_delay_table(policy: RetryPolicy, attempts: int, rand: float, expected: float) -> None:
    assert next_delay(policy, attempts, rand) == pytest.approx(expected)


@pytest.mark.parametrize(("attempts", "rand"), [(0, 0.5), (-1, 0.5), (1, -0.1), (1, 1.5)])
def test_next_delay_rejects_bad_input(attempts: int, rand: float) -> None:
    with pytest.raises(ValueError):
        next_delay(EXP, attempts, rand)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"backoff": "linear"},
        {"retry_delay_s": -1.0},
        {"max_delay_s": float("inf")},
        {"retry_delay_s": float("nan")},
    ],
)
def test_policy_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 100),
    backoff=st.sampled_from(["exponential", "fixed"]),
    retry_delay_s=st.floats(0, 1e6),
    max_delay_s=st.floats(0, 1e7),
)
units = st.floats(0, 1)


@settings(deadline=None)
@given(policies, st.integers(1, 5000), units)
def test_delay_is_bounded(policy: RetryPolicy, attempts: int, rand: float) -> None:
    delay = next_delay(policy, attempts, rand)
    if policy.backoff == "fixed":
        assert delay == policy.retry_delay_s
    else:
        ceiling = min(policy.max_delay_s, policy.retry_delay_s * 2.0 ** min(attempts - 1, 64))
        assert ceiling / 2 - 1e-9 <= delay <= ceiling + 1e-9
        assert 0 <= delay <= policy.max_delay_s + 1e-9


@settings(deadline=None)
@given(policies, st.integers(1, 200), units)
def test_exponential_grows_with_attempts(policy: RetryPolicy, attempts: int, rand: float) -> None:
    """With the same draw, a later attempt never waits less than an earlier one."""
    assert next_delay(policy, attempts + 1, rand) >= next_delay(policy, attempts, rand)


@settings(deadline=None)
@given(policies, st.integers(1, 200), units, units)
def test_jitter_is_monotonic_in_rand(
    policy: RetryPolicy, attempts: int, r1: float, r2: float
) -> None:
    lo, hi = sorted((r1, r2))
    assert next_delay(policy, attempts, lo) <= next_delay(policy, attempts, hi)


@settings(deadline=None)
@given(st.text(max_size=5000), st.text(max_size=20000), st.integers(10, 5000))
def test_truncate_error_respects_limit(summary: str, details: str, limit: int) -> None:
    text = truncate_error(summary, details, limit)
    assert len(text) <= limit
    assert text.startswith(summary[: limit // 2])


def test_truncate_error_keeps_the_end_of_the_traceback() -> None:
    text = truncate_error("ValueError: x", "a" * 10_000 + "THE END", 200)
    assert text.startswith("ValueError: x\n...")
    assert text.endswith("THE END")
    assert len(text) == 200
