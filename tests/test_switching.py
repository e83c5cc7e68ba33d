"""Emergency priority and RETURN, decided by the Switcher without any wall."""

from __future__ import annotations

import pytest

from controller.errors import NotFoundError, RefusedError
from controller.layouts import Layout, Preset, Rect, Tile
from controller.switching import Switcher, View

QUAD = Layout(
    "quad",
    (
        Tile("t1", Rect(0, 0, 960, 540)),
        Tile("t2", Rect(960, 0, 960, 540)),
        Tile("t3", Rect(0, 540, 960, 540)),
        Tile("t4", Rect(960, 540, 960, 540)),
    ),
)
SINGLE = Layout("single", (Tile("main", Rect(0, 0, 1920, 1080)),))

PRESETS = {
    "overview": Preset("overview", QUAD, {"t1": "a", "t2": "b"}),
    "bridge": Preset("bridge", SINGLE, {"main": "c"}),
    "flood": Preset("flood", SINGLE, {"main": "d"}, priority="emergency"),
    "fire": Preset("fire", QUAD, {"t1": "e"}, priority="emergency"),
}


@pytest.fixture
def switcher() -> Switcher:
    return Switcher(PRESETS, home="overview")


def test_normal_preset_is_refused_during_an_emergency_with_the_reason(switcher):
    switcher.activate("overview", "api")
    switcher.activate("flood", "button emergency")
    with pytest.raises(RefusedError) as refused:
        switcher.activate("bridge", "tablet")
    assert str(refused.value) == (
        "emergency preset 'flood' is active; press RETURN (or choose another "
        "emergency preset) first"
    )
    assert switcher.view.preset == "flood"
    last = switcher.history[-1]
    assert (last.what, last.origin, last.result) == ("preset bridge", "tablet", "refused")


def test_return_restores_exactly_the_view_before_the_emergency(switcher):
    switcher.activate("overview", "api")
    edited = switcher.assign("t3", "z", "tablet")
    switcher.activate("flood", "button emergency")
    restored = switcher.return_("button return")
    assert restored == edited
    assert dict(restored.cameras) == {"t1": "a", "t2": "b", "t3": "z"}
    assert not switcher.emergency


def test_return_after_two_stacked_emergencies_goes_back_before_the_first(switcher):
    switcher.activate("bridge", "api")
    switcher.activate("flood", "button emergency")
    switcher.activate("fire", "tablet")
    assert switcher.view.preset == "fire"
    assert switcher.return_("tablet").preset == "bridge"


def test_emergency_first_thing_after_start_returns_to_the_home_preset(switcher):
    switcher.activate("flood", "button emergency")
    assert switcher.return_("button return").preset == "overview"


def test_return_without_an_emergency_is_refused(switcher):
    switcher.activate("overview", "api")
    with pytest.raises(RefusedError, match="no emergency preset is active"):
        switcher.return_("api")


def test_tile_edits_are_refused_during_an_emergency(switcher):
    switcher.activate("flood", "api")
    with pytest.raises(RefusedError):
        switcher.assign("main", "a", "tablet")


def test_assigning_a_camera_moves_it_from_its_old_tile(switcher):
    switcher.activate("overview", "api")
    view = switcher.assign("t4", "a", "tablet")
    assert dict(view.cameras) == {"t1": None, "t2": "b", "t4": "a"}
    assert view.preset is None


def test_unknown_preset_and_tile_are_not_found(switcher):
    with pytest.raises(NotFoundError, match="unknown preset 'nope'"):
        switcher.activate("nope", "api")
    switcher.activate("overview", "api")
    with pytest.raises(NotFoundError, match="unknown tile 'main'"):
        switcher.assign("main", "a", "api")


def test_a_very_long_unknown_name_is_not_echoed_whole(switcher):
    # A 60 KB camera id came back whole in the 404's body.
    with pytest.raises(NotFoundError) as caught:
        switcher.activate("x" * 60_000, "api")
    assert str(caught.value).startswith("unknown preset '" + "x" * 80 + "…'; known: ")
    assert len(str(caught.value)) < 300


def test_restore_keeps_what_return_goes_back_to(switcher):
    before = View.of(PRESETS["bridge"])
    switcher.restore(View.of(PRESETS["flood"]), before, "restart")
    assert switcher.emergency
    assert switcher.return_("api") == before
