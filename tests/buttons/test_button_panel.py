"""The button panel on gpiozero's mock pins: edges in, events on the loop, lamps out."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from button_helpers import FakeClock, until
from gpiozero import DigitalInputDevice
from gpiozero.pins.mock import MockFactory, MockPin

from controller.buttons.config import ButtonSpec
from controller.buttons.panel import (
    ButtonEvent,
    ButtonPanel,
    ButtonPanelError,
    LampState,
    lamp_state,
)
from controller.errors import NotFoundError, RefusedError

BUTTONS = {
    "emergency": ButtonSpec(pin=17, action="flood", lamp=27),
    "return": ButtonSpec(pin="GPIO22", action="return", lamp=23),
    "overview": ButtonSpec(pin="BOARD29", action="overview", lamp=6),
    "blackout": ButtonSpec(pin=13, action="blackout", lamp=19),
}


class Recorder:
    """Collects the panel's events and the thread they arrived on."""

    def __init__(self) -> None:
        self.events: list[ButtonEvent] = []
        self.threads: set[int] = set()

    def __call__(self, event: ButtonEvent) -> None:
        self.events.append(event)
        self.threads.add(threading.get_ident())


def make_panel(
    factory: MockFactory,
    recorder: Recorder,
    clock: FakeClock | None = None,
    buttons: dict[str, ButtonSpec] = BUTTONS,
    **kwargs: object,
) -> ButtonPanel:
    extra: dict[str, object] = {"emergency_actions": {"flood"}, **kwargs}
    if clock is not None:
        extra["clock"] = clock
    return ButtonPanel(buttons, recorder, pin_factory=factory, **extra)  # type: ignore[arg-type]


class HeldDownPin(MockPin):
    """A pin whose button is already pressed: setting the pull-up does not lift it."""

    def _set_pull(self, value: str) -> None:
        self._pull = value


async def quiet(panel: ButtonPanel) -> None:
    """Let every pending edge and debounce timer run out."""
    await asyncio.sleep(0.15)


async def test_short_press_on_the_pin_reaches_the_loop_as_one_event(
    mock_factory: MockFactory, clock: FakeClock
) -> None:
    recorder = Recorder()
    async with make_panel(mock_factory, recorder, clock) as panel:
        pin = mock_factory.pin(5)

        pin.drive_low()
        clock.now += 0.2
        await until(lambda: recorder.events)
        pin.drive_high()
        await quiet(panel)

    assert recorder.events == [
        ButtonEvent("overview", "overview", pytest.approx(0.05), pytest.approx(100.05))
    ]
    assert recorder.threads == {threading.get_ident()}


async def test_edges_from_another_thread_are_handled_on_the_loop(
    mock_factory: MockFactory,
) -> None:
    recorder = Recorder()
    async with make_panel(mock_factory, recorder) as panel:
        pin = mock_factory.pin(5)

        await asyncio.to_thread(pin.drive_low)
        await until(lambda: recorder.events)
        await asyncio.to_thread(pin.drive_high)
        await quiet(panel)

    assert [e.button for e in recorder.events] == ["overview"]
    assert recorder.threads == {threading.get_ident()}


async def test_bounce_burst_on_the_pin_makes_one_press(
    mock_factory: MockFactory, clock: FakeClock
) -> None:
    recorder = Recorder()
    async with make_panel(mock_factory, recorder, clock) as panel:
        pin = mock_factory.pin(5)

        for _ in range(5):
            pin.drive_low()
            clock.now += 0.002
            pin.drive_high()
            clock.now += 0.002
        pin.drive_low()
        clock.now += 0.5
        await until(lambda: recorder.events)
        for _ in range(5):
            pin.drive_high()
            clock.now += 0.002
            pin.drive_low()
            clock.now += 0.002
        pin.drive_high()
        clock.now += 0.5
        await quiet(panel)

    assert len(recorder.events) == 1


@pytest.mark.parametrize(("low_s", "presses"), [(0.04, 0), (0.06, 1)])
async def test_40_ms_glitch_does_nothing_but_a_60_ms_press_counts(
    mock_factory: MockFactory, clock: FakeClock, low_s: float, presses: int
) -> None:
    recorder = Recorder()
    async with make_panel(mock_factory, recorder, clock) as panel:
        pin = mock_factory.pin(5)

        pin.drive_low()
        clock.now += low_s
        pin.drive_high()
        clock.now += 1.0
        await quiet(panel)

    assert len(recorder.events) == presses


@pytest.mark.parametrize(("held_s", "presses"), [(0.9, 0), (1.2, 1)])
async def test_emergency_button_needs_the_default_hold(
    mock_factory: MockFactory, clock: FakeClock, held_s: float, presses: int
) -> None:
    recorder = Recorder()
    async with make_panel(mock_factory, recorder, clock) as panel:
        pin = mock_factory.pin(17)

        pin.drive_low()
        clock.now += held_s
        await quiet(panel)
        pin.drive_high()
        clock.now += 1.0
        await quiet(panel)

    assert len(recorder.events) == presses


async def test_hold_acts_once_when_it_completes_and_logs_it(
    mock_factory: MockFactory, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="controller.buttons")
    recorder = Recorder()
    async with make_panel(mock_factory, recorder, clock) as panel:
        pin = mock_factory.pin(17)

        pin.drive_low()
        clock.now += 10.0
        await until(lambda: recorder.events)
        assert panel.status_of("emergency").pressed is not False  # still held
        await quiet(panel)
        pin.drive_high()
        clock.now += 1.0
        await quiet(panel)

    assert recorder.events == [ButtonEvent("emergency", "flood", 1.0, 101.0)]
    assert "button 'emergency' (GPIO17) held 1.00 s → preset 'flood'" in caplog.messages


async def test_release_during_hold_does_nothing(
    mock_factory: MockFactory, clock: FakeClock
) -> None:
    recorder = Recorder()
    async with make_panel(mock_factory, recorder, clock) as panel:
        pin = mock_factory.pin(17)

        pin.drive_low()
        clock.now += 0.5
        await quiet(panel)
        pin.drive_high()
        clock.now += 5.0
        await quiet(panel)

        assert recorder.events == []
        assert panel.status_of("emergency").pressed is False


async def test_explicit_hold_overrides_the_emergency_default(
    mock_factory: MockFactory, clock: FakeClock
) -> None:
    recorder = Recorder()
    buttons = {"fire": ButtonSpec(pin=17, action="fire", hold_s=3.0)}
    async with make_panel(mock_factory, recorder, clock, buttons) as panel:
        pin = mock_factory.pin(17)

        pin.drive_low()
        clock.now += 2.0
        await quiet(panel)
        assert recorder.events == []
        clock.now += 2.0
        await until(lambda: recorder.events)

    assert recorder.events[0].held_s == pytest.approx(3.0)


async def test_two_buttons_held_at_once_act_independently(
    mock_factory: MockFactory, clock: FakeClock
) -> None:
    recorder = Recorder()
    async with make_panel(mock_factory, recorder, clock) as panel:
        emergency, overview = mock_factory.pin(17), mock_factory.pin(5)

        emergency.drive_low()
        clock.now += 0.2
        overview.drive_low()
        clock.now += 0.2
        await until(lambda: len(recorder.events) == 1)
        overview.drive_high()
        clock.now += 1.0
        await until(lambda: len(recorder.events) == 2)
        emergency.drive_high()
        await quiet(panel)

    assert [(e.button, e.at) for e in recorder.events] == [
        ("overview", pytest.approx(100.25)),
        ("emergency", pytest.approx(101.0)),
    ]


async def test_button_held_down_at_start_acts_only_after_a_release(
    mock_factory: MockFactory, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    pin = mock_factory.pin(5, pin_class=HeldDownPin)

    async with make_panel(mock_factory, recorder, clock) as panel:
        clock.now += 5.0
        await quiet(panel)
        assert recorder.events == []
        pin.drive_high()
        clock.now += 1.0
        await quiet(panel)
        pin.drive_low()
        clock.now += 1.0
        await until(lambda: recorder.events)

    assert len(recorder.events) == 1
    assert (
        "button 'overview' (GPIO5) is held down at start; it acts only after a release"
        in caplog.messages
    )


async def test_pull_down_button_presses_on_a_high_level(
    mock_factory: MockFactory,
) -> None:
    recorder = Recorder()
    buttons = {"next": ButtonSpec(pin=5, action="next", pull_up=False)}
    async with make_panel(mock_factory, recorder, buttons=buttons) as panel:
        event = await panel.press("next", 0.1)

    assert event is not None and event.action == "next"


async def test_async_handler_runs_as_a_task_and_its_errors_are_logged(
    mock_factory: MockFactory, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def on_press(event: ButtonEvent) -> None:
        raise RuntimeError("preset engine down")

    async with ButtonPanel(BUTTONS, on_press, pin_factory=mock_factory) as panel:
        await panel.press("overview", 0.1)
        await until(lambda: any("handling the press" in m for m in caplog.messages))

    assert "button overview → overview: handling the press failed" in caplog.messages


async def test_handler_error_does_not_stop_the_next_press(
    mock_factory: MockFactory,
) -> None:
    calls: list[str] = []

    def on_press(event: ButtonEvent) -> None:
        calls.append(event.button)
        raise RuntimeError("boom")

    async with ButtonPanel(BUTTONS, on_press, pin_factory=mock_factory) as panel:
        await panel.press("overview", 0.1)
        await panel.press("overview", 0.1)

    assert calls == ["overview", "overview"]


async def test_simulated_press_returns_the_event_it_caused(
    mock_factory: MockFactory,
) -> None:
    recorder = Recorder()
    async with make_panel(mock_factory, recorder, emergency_hold_s=0.3) as panel:
        short = await panel.press("emergency", 0.1)
        held = await panel.press("emergency", 0.6)
        status = panel.status_of("emergency")

    assert short is None
    assert held is not None and held.button == "emergency" and held.action == "flood"
    assert 0.3 - 1e-6 <= held.held_s < 0.6
    assert recorder.events == [held]
    assert status.last_event == held and status.pressed is False


async def test_unknown_button_is_not_found(mock_factory: MockFactory) -> None:
    async with make_panel(mock_factory, Recorder()) as panel:
        with pytest.raises(NotFoundError) as caught:
            await panel.press("lights", 0.1)

    assert str(caught.value) == (
        "unknown button 'lights'; known: blackout, emergency, overview, return"
    )


async def test_press_is_refused_on_real_gpio() -> None:
    panel = ButtonPanel(BUTTONS, Recorder(), pin_factory=object())

    with pytest.raises(RefusedError) as caught:
        await panel.press("overview", 0.1)

    assert str(caught.value) == (
        "button 'overview' cannot be pressed from software: presses are simulated "
        "only on mock pins (the demo), and this panel uses real GPIO"
    )


async def test_second_simulated_press_of_a_held_button_is_refused(
    mock_factory: MockFactory,
) -> None:
    async with make_panel(mock_factory, Recorder()) as panel:
        first = asyncio.create_task(panel.press("overview", 0.3))
        await asyncio.sleep(0.05)
        with pytest.raises(RefusedError, match="already being pressed"):
            await panel.press("overview", 0.1)
        await first


def test_bad_pins_are_refused_when_the_panel_is_built(
    mock_factory: MockFactory,
) -> None:
    buttons = {"x": ButtonSpec(pin=17, action="x"), "y": ButtonSpec(pin=17, action="y")}

    with pytest.raises(ButtonPanelError) as caught:
        ButtonPanel(buttons, Recorder(), pin_factory=mock_factory)

    assert str(caught.value) == (
        "buttons refused: buttons.y.pin: found pin 17 (GPIO17), already used by "
        "button 'x'; expected each pin used once"
    )


async def test_pin_taken_by_someone_else_fails_start_and_frees_the_rest(
    mock_factory: MockFactory,
) -> None:
    other = DigitalInputDevice(6, pin_factory=mock_factory)
    panel = make_panel(mock_factory, Recorder())

    with pytest.raises(ButtonPanelError) as caught:
        await panel.start()
    other.close()

    assert str(caught.value).startswith(
        "button 'overview': cannot claim its pins (GPIO5, lamp GPIO6): "
    )
    DigitalInputDevice(17, pin_factory=mock_factory).close()


async def test_lamps_light_the_active_preset(mock_factory: MockFactory) -> None:
    async with make_panel(mock_factory, Recorder()) as panel:
        panel.show("overview", emergency=False)

        lamps = {s.name: s.lamp for s in panel.status()}
        levels = {p: mock_factory.pin(p).state for p in (27, 23, 6, 19)}

    assert lamps == {
        "emergency": LampState.OFF,
        "return": LampState.OFF,
        "overview": LampState.ON,
        "blackout": LampState.OFF,
    }
    assert levels == {27: False, 23: False, 6: True, 19: False}


async def test_lamps_blink_for_the_emergency_and_return(
    mock_factory: MockFactory,
) -> None:
    async with make_panel(mock_factory, Recorder(), blink_s=0.02) as panel:
        panel.show("overview", emergency=False)
        for pin in (27, 23, 6, 19):
            mock_factory.pin(pin).clear_states()

        panel.show("flood", emergency=True)
        await until(lambda: len(mock_factory.pin(27).states) >= 5)
        await until(lambda: len(mock_factory.pin(23).states) >= 5)
        lamps = {s.name: s.lamp for s in panel.status()}
        overview, blackout = mock_factory.pin(6), mock_factory.pin(19)

        assert overview.state is False and len(overview.states) == 2
        assert blackout.state is False and len(blackout.states) == 1

        panel.show("flood", emergency=False)
        assert mock_factory.pin(27).state is True
        assert mock_factory.pin(23).state is False

    assert lamps["emergency"] is LampState.BLINKING
    assert lamps["return"] is LampState.BLINKING
    assert lamps["overview"] is LampState.OFF


async def test_lamps_go_dark_when_the_panel_closes(mock_factory: MockFactory) -> None:
    panel = make_panel(mock_factory, Recorder(), blink_s=0.02)
    await panel.start()
    panel.show("flood", emergency=True)
    panel.show("overview", emergency=False)

    await panel.close()

    assert [s.lamp for s in panel.status()] == [LampState.OFF] * 4
    assert [mock_factory.pin(p).state for p in (27, 23, 6, 19)] == [False] * 4


@pytest.mark.parametrize(
    ("action", "active", "emergency", "blackout", "expected"),
    [
        ("overview", "overview", False, False, LampState.ON),
        ("overview", "traffic", False, False, LampState.OFF),
        ("overview", "overview", False, True, LampState.OFF),
        ("blackout", "overview", False, True, LampState.ON),
        ("blackout", "overview", False, False, LampState.OFF),
        ("flood", "flood", True, False, LampState.BLINKING),
        ("fire", "flood", True, False, LampState.OFF),
        ("return", "flood", True, False, LampState.BLINKING),
        ("return", "overview", False, False, LampState.OFF),
        ("overview", "flood", True, False, LampState.OFF),
        ("blackout", "flood", True, True, LampState.OFF),
        ("next", "overview", False, False, LampState.OFF),
    ],
)
def test_lamp_state_follows_the_wall(
    action: str, active: str, emergency: bool, blackout: bool, expected: LampState
) -> None:
    state = lamp_state(
        action, active_preset=active, emergency=emergency, blackout=blackout
    )

    assert state is expected


async def test_lamps_set_before_start_light_when_the_panel_starts(
    mock_factory: MockFactory,
) -> None:
    panel = make_panel(mock_factory, Recorder())
    panel.show("overview", emergency=False)

    async with panel:
        assert mock_factory.pin(6).state is True
        assert panel.status_of("overview").lamp is LampState.ON


async def test_edge_arriving_after_close_is_ignored(
    mock_factory: MockFactory, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    panel = make_panel(mock_factory, recorder)
    await panel.start()

    mock_factory.pin(5).drive_low()
    await panel.close()
    await asyncio.sleep(0.1)

    assert recorder.events == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
