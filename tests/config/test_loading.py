"""Config, layouts and presets: every refusal names file, line, key, found and expected."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from controller.config.loader import load_config
from controller.errors import ConfigError
from controller.layouts import Rect

REPO = Path(__file__).resolve().parents[2]

CONFIG = """\
wall: {resolution: [1920, 1080]}
layouts: layouts.yaml
presets: presets.yaml
cameras:
  cam-a: {name: Camera A}
  cam-b: {name: Camera B}
"""

LAYOUTS = """\
layouts:
  quad:
    grid: {columns: 2, rows: 2}
    tiles:
      t1: {row: 0, column: 0}
      t2: {row: 0, column: 1}
      t3: {row: 1, column: 0}
      t4: {row: 1, column: 1}
"""

PRESETS = """\
presets:
  both:
    layout: quad
    cameras: {t1: cam-a, t2: cam-b}
"""


def write(tmp_path: Path, config=CONFIG, layouts=LAYOUTS, presets=PRESETS) -> Path:
    (tmp_path / "config.yaml").write_text(textwrap.dedent(config))
    (tmp_path / "layouts.yaml").write_text(textwrap.dedent(layouts))
    (tmp_path / "presets.yaml").write_text(textwrap.dedent(presets))
    return tmp_path / "config.yaml"


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(p) for p in caught.value.problems]


def test_valid_config_compiles_grid_cells_to_wall_pixels(tmp_path):
    config = load_config(write(tmp_path))
    quad = config.layouts["quad"]
    assert [t.rect for t in quad.tiles] == [
        Rect(0, 0, 960, 540),
        Rect(960, 0, 960, 540),
        Rect(0, 540, 960, 540),
        Rect(960, 540, 960, 540),
    ]
    assert dict(config.presets["both"].cameras) == {"t1": "cam-a", "t2": "cam-b"}


def test_loaded_objects_are_immutable(tmp_path):
    config = load_config(write(tmp_path))
    with pytest.raises(TypeError):
        config.presets["both"].cameras["t3"] = "cam-a"  # type: ignore[index]
    with pytest.raises(AttributeError):
        config.layouts["quad"].name = "other"  # type: ignore[misc]


def test_rect_layout_is_scaled_from_its_canvas_to_the_wall(tmp_path):
    layouts = LAYOUTS + """\
  half:
    canvas: [960, 540]
    tiles:
      left: {rect: [0, 0, 480, 540]}
"""
    config = load_config(write(tmp_path, layouts=layouts))
    assert config.layouts["half"].tiles[0].rect == Rect(0, 0, 960, 1080)


def test_overlapping_tiles_are_refused(tmp_path):
    layouts = LAYOUTS.replace("t4: {row: 1, column: 1}", "t4: {row: 0, column: 1}")
    assert problems(write(tmp_path, layouts=layouts)) == [
        f"{tmp_path}/layouts.yaml:8: layouts.quad.tiles.t4: tile 't4' overlaps tile "
        "'t2'; expected tiles that do not overlap"
    ]


def test_cell_outside_the_grid_is_refused(tmp_path):
    layouts = LAYOUTS.replace("t4: {row: 1, column: 1}", "t4: {row: 1, column: 1, columns: 2}")
    assert problems(write(tmp_path, layouts=layouts)) == [
        f"{tmp_path}/layouts.yaml:8: layouts.quad.tiles.t4: found a cell at row 1, "
        "column 1 spanning 1x2, expected inside the 2-row, 2-column grid"
    ]


def test_rect_outside_the_canvas_is_refused(tmp_path):
    layouts = LAYOUTS + """\
  wide:
    canvas: [1920, 1080]
    tiles:
      big: {rect: [100, 0, 1900, 1080]}
"""
    assert problems(write(tmp_path, layouts=layouts)) == [
        f"{tmp_path}/layouts.yaml:12: layouts.wide.tiles.big.rect: found "
        "[100, 0, 1900, 1080] reaching to (2000, 1080), expected inside the "
        "1920x1080 canvas"
    ]


def test_wrong_type_names_the_key_and_what_was_found(tmp_path):
    layouts = LAYOUTS.replace("t3: {row: 1, column: 0}", 't3: {row: "one", column: 0}')
    assert problems(write(tmp_path, layouts=layouts)) == [
        f"{tmp_path}/layouts.yaml:7: layouts.quad.tiles.t3.row: found 'one', "
        "expected: input should be a valid integer"
    ]


def test_misspelt_key_lists_the_keys_that_are_allowed(tmp_path):
    layouts = LAYOUTS.replace("t3: {row: 1, column: 0}", "t3: {row: 1, colum: 0}")
    found = problems(write(tmp_path, layouts=layouts))
    assert found == [
        f"{tmp_path}/layouts.yaml:7: layouts.quad.tiles.t3.colum: unknown key 'colum'; "
        "expected one of: row, column, rows, columns, rect, fit"
    ]


def test_duplicate_layout_name_is_refused_with_both_lines(tmp_path):
    layouts = LAYOUTS + """\
  quad:
    grid: {columns: 1, rows: 1}
    tiles:
      t1: {row: 0, column: 0}
"""
    assert problems(write(tmp_path, layouts=layouts)) == [
        f"{tmp_path}/layouts.yaml:9: layouts.quad: duplicate key 'quad' (first written "
        "on line 2); each name may appear once"
    ]


def test_unknown_layout_in_preset_is_refused(tmp_path):
    presets = PRESETS.replace("layout: quad", "layout: quadd")
    assert problems(write(tmp_path, presets=presets)) == [
        f"{tmp_path}/presets.yaml:3: presets.both.layout: found unknown layout 'quadd', "
        "expected one of: quad"
    ]


def test_unknown_camera_and_unknown_tile_in_preset_are_both_reported(tmp_path):
    presets = PRESETS.replace("{t1: cam-a, t2: cam-b}", "{t1: cam-z, t9: cam-b}")
    assert problems(write(tmp_path, presets=presets)) == [
        f"{tmp_path}/presets.yaml:4: presets.both.cameras.t1: found unknown camera "
        "'cam-z', expected one of the config's cameras: cam-a, cam-b",
        f"{tmp_path}/presets.yaml:4: presets.both.cameras.t9: found tile 't9', expected "
        "a tile of layout 'quad': t1, t2, t3, t4",
    ]


def test_same_camera_twice_in_a_preset_is_refused(tmp_path):
    presets = PRESETS.replace("t2: cam-b", "t2: cam-a")
    assert problems(write(tmp_path, presets=presets)) == [
        f"{tmp_path}/presets.yaml:4: presets.both.cameras.t2: found camera 'cam-a' "
        "again (already in tile 't1'), expected each camera once per preset"
    ]


def test_yaml_syntax_error_gives_the_line(tmp_path):
    layouts = LAYOUTS.replace("t2: {row: 0, column: 1}", "t2: {row: 0, column: 1")
    found = problems(write(tmp_path, layouts=layouts))
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path}/layouts.yaml:7: not valid YAML: ")


def test_missing_layouts_file_is_reported_with_its_path(tmp_path):
    path = write(tmp_path)
    (tmp_path / "layouts.yaml").unlink()
    found = problems(path)
    assert f"{tmp_path}/layouts.yaml: file not found" in found


def test_every_problem_across_files_is_reported_at_once(tmp_path):
    layouts = LAYOUTS.replace("t4: {row: 1, column: 1}", "t4: {row: 0, column: 0}")
    presets = PRESETS.replace("t2: cam-b", "t2: nobody")
    found = problems(write(tmp_path, layouts=layouts, presets=presets))
    assert len(found) == 2
    assert "overlaps" in found[0] and "unknown camera 'nobody'" in found[1]


def test_an_invalid_config_file_does_not_hide_the_problems_of_the_other_files(tmp_path):
    config = CONFIG.replace("cam-b: {name: Camera B}", "cam-b: {name: [1, 2]}")
    layouts = LAYOUTS.replace("t4: {row: 1, column: 1}", "t4: {row: 0, column: 0}")
    presets = PRESETS.replace("layout: quad", "layout: [quad]")
    found = [
        p.removeprefix(f"{tmp_path}/")
        for p in problems(write(tmp_path, config, layouts, presets))
    ]
    assert found == [
        "config.yaml:6: cameras.cam-b.name: found (1, 2), "
        "expected: input should be a valid string",
        found[1],
        "presets.yaml:3: presets.both.layout: found ('quad',), "
        "expected: input should be a valid string",
    ]
    assert found[1].startswith("layouts.yaml:8: layouts.quad.tiles.t4") and (
        "overlaps" in found[1]
    )


@pytest.mark.parametrize(
    ("resolution", "message"),
    [
        ("[1920, -5]", "wall.resolution[1]: found -5, expected: input should be greater"),
        ("[0, 0]", "wall.resolution[0]: found 0, expected: input should be greater"),
    ],
)
def test_a_wall_size_xvfb_would_refuse_is_a_config_error(tmp_path, resolution, message):
    # check-config said OK, and the service died at start ("Couldn't add screen 0").
    config = CONFIG.replace("[1920, 1080]", resolution)
    assert any(message in found for found in problems(write(tmp_path, config)))


@pytest.mark.parametrize("mac", ["hello", "", "02:4f:57:00:00:ZZ"])
def test_a_camera_mac_that_is_not_one_is_refused(tmp_path, mac):
    # It once passed, and the camera was never matched, without a word.
    config = CONFIG.replace(
        "cam-a: {name: Camera A}", f'cam-a: {{name: Camera A, match: {{mac: "{mac}"}}}}'
    )
    assert [p.split(": ", 1)[1] for p in problems(write(tmp_path, config))] == [
        f"cameras.cam-a.match.mac: found {mac!r}, expected: a MAC address of 12 hex "
        "digits, such as 02:4f:57:00:00:01"
    ]


def test_one_run_reports_every_problem_of_every_kind(tmp_path):
    # A technician fixed three errors, ran check-config, found eight more, then two
    # more: structure errors hid the checks of names and geometry behind them.
    config = """\
        wall: {resolution: [1920, 1080]}
        web: {port: 80800}
        layouts: layouts.yaml
        presets: presets.yaml
        startup_preset: nowhere
        cameras:
          cam-a: {name: Camera A, colour: red}
          cam-b: {name: Camera B}
        gpio: {pin_factory: mock}
        buttons:
          one: {pin: GPIO17, action: both}
          two: {pin: GPIO17, action: nexxt}
        """
    layouts = LAYOUTS.replace("t4: {row: 1, column: 1}", "t4: {row: 2, column: 1}")
    presets = """\
        presets:
          both:
            layout: quad
            cameras: {t1: cam-z, t5: cam-b, t4: cam-a}
          other:
            layout: nowhere
            cameras: {t1: cam-a}
        """
    found = [
        p.removeprefix(f"{tmp_path}/")
        for p in problems(write(tmp_path, config, layouts, presets))
    ]
    expected = [
        "config.yaml:2: web.port: found 80800",
        "config.yaml:7: cameras.cam-a.colour: unknown key 'colour'",
        "layouts.yaml:8: layouts.quad.tiles.t4: found a cell at row 2",
        "presets.yaml:4: presets.both.cameras.t1: found unknown camera 'cam-z'",
        "presets.yaml:4: presets.both.cameras.t5: found tile 't5', expected a tile of "
        "layout 'quad': t1, t2, t3, t4",
        "presets.yaml:6: presets.other.layout: found unknown layout 'nowhere'",
        "config.yaml:5: startup_preset: found unknown preset 'nowhere'",
        "config.yaml:12: buttons.two.pin: found pin 'GPIO17', already used",
        "config.yaml:12: buttons.two.action: found 'nexxt'",
    ]
    assert len(found) == len(expected), "\n".join(found)
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(start), (line, start)
    # t4 could not be placed: its own error is enough, no "unknown tile t4" after it.
    assert not any("found tile 't4'" in line for line in found)


def test_shipped_demo_config_and_layouts_are_valid():
    config = load_config(REPO / "config" / "demo.yaml")
    for name in ("single", "grid-2x2", "grid-3x3", "traffic-8", "focus-1+5"):
        assert name in config.layouts
    assert len(config.layouts["traffic-8"].tiles) == 8
    sizes = sorted(t.rect.area for t in config.layouts["traffic-8"].tiles)
    assert sizes[-1] > sizes[-2], "traffic-8 has one larger tile"
    assert len(config.layouts["focus-1+5"].tiles) == 6
    assert config.presets["flood"].is_emergency


def test_check_config_command_prints_every_error_and_exits_1(tmp_path):
    presets = PRESETS.replace("layout: quad", "layout: nope")
    path = write(tmp_path, presets=presets)
    result = subprocess.run(
        [sys.executable, "-m", "controller.cli", "check-config", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "presets.both.layout: found unknown layout 'nope'" in result.stderr


def test_check_config_command_accepts_the_demo_config():
    result = subprocess.run(
        [sys.executable, "-m", "controller.cli", "check-config", str(REPO / "config/demo.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "OK (6 layouts, 6 presets, 8 cameras" in result.stdout


def test_stale_after_defaults_to_three_seconds_and_can_be_set(tmp_path):
    assert load_config(write(tmp_path)).spec.wall.stale_after_s == 3.0
    config = CONFIG.replace("{resolution: [1920, 1080]}", "{stale_after_s: 5}")
    assert load_config(write(tmp_path, config=config)).spec.wall.stale_after_s == 5.0


def test_stale_after_of_zero_is_refused(tmp_path):
    config = CONFIG.replace("{resolution: [1920, 1080]}", "{stale_after_s: 0}")
    assert problems(write(tmp_path, config=config)) == [
        f"{tmp_path}/config.yaml:1: wall.stale_after_s: found 0, "
        "expected: input should be greater than 0"
    ]


def test_a_broken_preset_is_reported_once_not_again_where_it_is_used(tmp_path):
    config = CONFIG + (
        "startup_preset: both\n"
        "buttons:\n"
        "  go: {pin: GPIO17, action: both}\n"
    )
    presets = PRESETS.replace("t2: cam-b", "t2: cam-x") + (
        "  left:\n"
        "    layout: quad\n"
        "    cameras: {t1: cam-a}\n"
        "tours:\n"
        "  loop:\n"
        "    presets: [left, both, nowhere]\n"
    )
    assert problems(write(tmp_path, config=config, presets=presets)) == [
        f"{tmp_path}/presets.yaml:4: presets.both.cameras.t2: found unknown camera "
        "'cam-x', expected one of the config's cameras: cam-a, cam-b",
        f"{tmp_path}/presets.yaml:10: tours.loop.presets[2]: found unknown preset "
        "'nowhere', expected one of: both, left",
    ]
