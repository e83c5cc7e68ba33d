"""Debounce and hold decisions of one button, on a clock the test controls."""

from __future__ import annotations

import random

import pytest

from controller.buttons.presses import Press, PressDetector

DEBOUNCE_S = 0.05


def run(
    detector: PressDetector, edges: list[tuple[float, bool]], until: float
) -> list[Press]:
    """Feed ``edges`` and fire the detector's deadlines on time, as the panel does."""
    presses: list[Press] = []
    for at, level in [*edges, (until, None)]:
        while detector.deadline is not None and detector.deadline <= at:
            presses += detector.advance(detector.deadline)
        if level is not None:
            presses += detector.feed(level, at)
    presses += detector.advance(until)
    return presses


def short() -> PressDetector:
    return PressDetector(debounce_s=DEBOUNCE_S)


def hold(hold_s: float = 1.0) -> PressDetector:
    return PressDetector(debounce_s=DEBOUNCE_S, hold_s=hold_s)


def bounce(
    start: float, level: bool, gaps: tuple[float, ...]
) -> list[tuple[float, bool]]:
    """Edges that chatter from ``start`` and settle on ``level``."""
    edges = []
    at = start
    current = level
    for gap in gaps:
        edges.append((at, current))
        current = not current
        at += gap
    edges.append((at, level))
    return edges


def test_short_press_acts_once_the_press_is_debounced() -> None:
    presses = run(short(), [(0.0, True), (0.3, False)], until=1.0)

    assert presses == [Press(held_s=pytest.approx(0.05), at=pytest.approx(0.05))]


def test_bounce_bursts_on_press_and_release_make_one_press() -> None:
    edges = bounce(0.0, True, (0.002, 0.002, 0.003, 0.003)) + bounce(
        0.5, False, (0.002, 0.003)
    )

    presses = run(short(), edges, until=2.0)

    assert len(presses) == 1
    assert presses[0].at == pytest.approx(0.010 + DEBOUNCE_S)


@pytest.mark.parametrize("detector", [short(), hold()], ids=["short", "hold"])
def test_40_ms_glitch_does_nothing(detector: PressDetector) -> None:
    assert run(detector, [(1.0, True), (1.04, False)], until=5.0) == []
    assert not detector.pressed


def test_40_ms_glitch_with_bounce_inside_does_nothing() -> None:
    edges = bounce(1.0, True, (0.001, 0.002)) + bounce(1.04, False, (0.001,))

    assert run(short(), edges, until=5.0) == []


def test_press_as_long_as_the_debounce_counts() -> None:
    presses = run(short(), [(0.0, True), (0.06, False)], until=1.0)

    assert [p.at for p in presses] == [pytest.approx(0.05)]


def test_a_repeated_level_does_not_restart_the_debounce() -> None:
    presses = run(short(), [(0.0, True), (0.04, True), (0.3, False)], until=1.0)

    assert [p.at for p in presses] == [pytest.approx(0.05)]


def test_short_button_acts_once_however_long_it_is_held() -> None:
    presses = run(short(), [(0.0, True), (10.0, False)], until=11.0)

    assert len(presses) == 1


def test_hold_shorter_than_the_threshold_does_nothing() -> None:
    detector = hold()

    presses = run(detector, [(0.0, True), (0.9, False)], until=3.0)

    assert presses == []
    assert detector.deadline is None


def test_hold_acts_when_it_completes_not_on_release() -> None:
    detector = hold()

    before_release = run(detector, [(0.0, True)], until=2.0)
    after_release = run(detector, [(2.0, False)], until=3.0)

    assert before_release == [Press(held_s=pytest.approx(1.0), at=pytest.approx(1.0))]
    assert after_release == []


def test_hold_acts_once_while_held_for_long() -> None:
    presses = run(hold(), [(0.0, True), (30.0, False)], until=31.0)

    assert len(presses) == 1


def test_release_during_hold_does_nothing_and_the_next_hold_starts_over() -> None:
    presses = run(hold(), [(0.0, True), (0.6, False), (0.8, True)], until=5.0)

    assert [p.at for p in presses] == [pytest.approx(1.8)]


def test_release_bouncing_across_the_hold_deadline_does_nothing() -> None:
    edges = [(0.0, True), *bounce(0.99, False, (0.01, 0.01, 0.01))]

    assert run(hold(), edges, until=3.0) == []


def test_release_glitch_during_hold_neither_cancels_nor_restarts_it() -> None:
    edges = [(0.0, True), (0.5, False), (0.52, True)]

    presses = run(hold(), edges, until=3.0)

    assert [p.at for p in presses] == [pytest.approx(1.0)]


def test_glitch_across_the_hold_deadline_delays_it_until_the_level_is_back() -> None:
    edges = [(0.0, True), (0.99, False), (1.01, True)]

    presses = run(hold(), edges, until=3.0)

    assert presses == [Press(held_s=pytest.approx(1.06), at=pytest.approx(1.06))]


def test_a_late_advance_stamps_the_press_when_it_was_decided() -> None:
    detector = hold()
    detector.feed(True, 0.0)

    assert detector.advance(5.0) == [Press(held_s=1.0, at=1.0)]


def test_a_late_edge_first_decides_what_happened_before_it() -> None:
    detector = hold()
    detector.feed(True, 0.0)

    assert detector.feed(False, 1.5) == [Press(held_s=1.0, at=1.0)]


def test_hold_shorter_than_the_debounce_waits_for_the_debounce() -> None:
    presses = run(hold(0.01), [(0.0, True), (0.5, False)], until=1.0)

    assert presses == [Press(held_s=pytest.approx(0.05), at=pytest.approx(0.05))]


def test_button_held_at_start_acts_only_after_a_release() -> None:
    detector = PressDetector(debounce_s=DEBOUNCE_S, hold_s=1.0, pressed=True, now=0.0)

    at_start = run(detector, [], until=5.0)
    later = run(detector, [(5.0, False), (6.0, True)], until=8.0)

    assert at_start == []
    assert [p.at for p in later] == [pytest.approx(7.0)]


def test_deadline_follows_the_pending_decision() -> None:
    detector = hold()
    assert detector.deadline is None

    detector.feed(True, 10.0)
    assert detector.deadline == pytest.approx(10.05)

    detector.advance(10.05)
    assert detector.pressed and detector.settled
    assert detector.deadline == pytest.approx(11.0)

    detector.advance(11.0)
    assert detector.deadline is None


def test_an_edge_stamped_before_the_last_advance_counts_at_that_time() -> None:
    detector = short()
    detector.advance(2.0)

    detector.feed(True, 1.0)

    assert detector.deadline == pytest.approx(2.05)


def test_noisy_presses_count_exactly_the_real_ones() -> None:
    rng = random.Random(5)
    detector = hold(1.0)
    edges: list[tuple[float, bool]] = []
    expected = 0
    at = 0.0
    for _ in range(200):
        kind = rng.choice(["glitch", "short", "long"])
        gaps = tuple(rng.uniform(0.0005, 0.004) for _ in range(rng.randrange(0, 6)))
        if kind == "glitch":
            edges += bounce(at, True, gaps)
            at = edges[-1][0] + rng.uniform(0.001, 0.040 - sum(gaps) / 2)
        else:
            edges += bounce(at, True, gaps)
            at = edges[-1][0] + rng.uniform(
                *((0.06, 0.8) if kind == "short" else (1.2, 3.0))
            )
            expected += kind == "long"
        edges += bounce(at, False, tuple(reversed(gaps)))
        at = edges[-1][0] + rng.uniform(0.2, 1.0)

    presses = run(detector, edges, until=at + 5.0)

    assert len(presses) == expected
    assert all(p.held_s == pytest.approx(1.0) for p in presses)
