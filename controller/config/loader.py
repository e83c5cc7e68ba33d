"""Load the appliance config with its layouts and presets; report every problem at once."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from controller.buttons.config import check_buttons
from controller.config.schema import (
    ConfigSpec,
    LayoutsFileSpec,
    LayoutSpec,
    PresetsFileSpec,
    WallSpec,
)
from controller.config.yamlfile import KeyPath, YamlFile, load_yaml
from controller.displays.controller import validate_action
from controller.errors import ConfigError, ConfigProblem
from controller.layouts import DisplayAction, Layout, Preset, Rect, Tile, Tour

BUTTON_ACTIONS = ("return", "next", "blackout")

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Config:
    """Everything the service runs from, validated and immutable."""

    path: Path
    spec: ConfigSpec
    layouts: Mapping[str, Layout]
    presets: Mapping[str, Preset]
    tours: Mapping[str, Tour] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def state_dir(self) -> Path:
        return (self.path.parent / self.spec.state_dir).resolve()


def load_config(path: str | Path) -> Config:
    """Read and check the config at ``path``; raise ConfigError listing every problem."""
    path = Path(path)
    config_file = load_yaml(path)
    base = path.parent
    try:
        spec = _validate(ConfigSpec, config_file)
    except ConfigError as err:
        raise ConfigError(
            [*err.problems, *_check_files_alone(config_file.data, base)]
        ) from None

    problems: list[ConfigProblem] = []
    layouts: dict[str, Layout] = {}
    presets: dict[str, Preset] = {}
    tours: dict[str, Tour] = {}
    # Every preset the file names, compiled or not: a preset with its own errors is
    # not reported again as unknown wherever it is referred to.
    declared: set[str] = set()
    try:
        layouts_file = load_yaml(base / spec.layouts)
        layouts, found = compile_layouts(
            _validate(LayoutsFileSpec, layouts_file), layouts_file, spec.wall.resolution
        )
        problems.extend(found)
    except ConfigError as err:
        problems.extend(err.problems)
    try:
        presets_file = load_yaml(base / spec.presets)
        presets_spec = _validate(PresetsFileSpec, presets_file)
        declared = set(presets_spec.presets)
        presets, found = compile_presets(presets_spec, presets_file, layouts, spec)
        problems.extend(found)
        tours, found = compile_tours(presets_spec, presets_file, presets, declared)
        problems.extend(found)
    except ConfigError as err:
        problems.extend(err.problems)

    problems.extend(_check_references(spec, config_file, declared))
    if problems:
        raise ConfigError(problems)
    return Config(
        path,
        spec,
        MappingProxyType(layouts),
        MappingProxyType(presets),
        MappingProxyType(tours),
    )


def _check_files_alone(data: Any, base: Path) -> list[ConfigProblem]:
    """What can be checked of the layouts and presets files while the config file
    itself is invalid: each file's own structure and the layouts' geometry (when the
    wall's resolution is readable). Names of cameras, displays and layouts in presets
    need a valid config and wait for it."""
    if not isinstance(data, dict):
        return []
    problems: list[ConfigProblem] = []
    layouts_path, presets_path = data.get("layouts"), data.get("presets")
    wall = data.get("wall")
    resolution = (
        wall.get("resolution", WallSpec().resolution)
        if isinstance(wall, dict)
        else WallSpec().resolution
    )
    if isinstance(layouts_path, str):
        try:
            layouts_file = load_yaml(base / layouts_path)
            layouts_spec = _validate(LayoutsFileSpec, layouts_file)
            if _is_resolution(resolution):
                _layouts, found = compile_layouts(
                    layouts_spec, layouts_file, tuple(resolution)
                )
                problems.extend(found)
        except ConfigError as err:
            problems.extend(err.problems)
    if isinstance(presets_path, str):
        try:
            _validate(PresetsFileSpec, load_yaml(base / presets_path))
        except ConfigError as err:
            problems.extend(err.problems)
    return problems


def _is_resolution(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value)
    )


def _validate(model: type[ModelT], source: YamlFile) -> ModelT:
    data = {} if source.data is None else source.data
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_translate(err, source, model)) from None


def _translate(
    err: ValidationError, source: YamlFile, model: type[BaseModel]
) -> list[ConfigProblem]:
    problems = []
    for item in err.errors():
        loc: KeyPath = tuple(
            part for part in item["loc"] if isinstance(part, str | int)
        )
        problems.append(source.problem(loc, _describe(item, loc, model)))
    return problems


def _describe(item: Any, loc: KeyPath, model: type[BaseModel]) -> str:
    kind = item["type"]
    if kind == "missing":
        return "missing; this key is required"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {loc[-1]!r}{hint}"
    message = item["msg"]
    if kind == "value_error":  # our own validators: the reason without pydantic's prefix
        message = str(item.get("ctx", {}).get("error", message))
    message = message[0].lower() + message[1:]
    return f"found {item['input']!r}, expected: {message}"


def _allowed_keys(model: type[BaseModel], loc: KeyPath) -> list[str]:
    """Keys accepted at ``loc`` (best effort: follows nested models and dicts)."""
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        else:
            args = getattr(current, "__args__", ())
            candidates = [
                a for a in args if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            if not candidates:
                return []
            current = candidates[0]
    args = getattr(current, "__args__", ())
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if not models:
            return []
        current = models[0]
    return list(current.model_fields)


def compile_layouts(
    spec: LayoutsFileSpec, source: YamlFile, wall: tuple[int, int]
) -> tuple[dict[str, Layout], list[ConfigProblem]]:
    """Turn layout specs into tiles in wall pixels, and the problems found on the way.

    A layout with a bad tile is still returned without that tile, so the presets that
    use it are checked too and every problem is reported in one go.
    """
    problems: list[ConfigProblem] = []
    layouts = {}
    for name, layout_spec in spec.layouts.items():
        tiles = _compile_tiles(name, layout_spec, source, wall, problems)
        layouts[name] = Layout(name, tuple(tiles), layout_spec.title or name)
    return layouts, problems


def _compile_tiles(
    name: str,
    spec: LayoutSpec,
    source: YamlFile,
    wall: tuple[int, int],
    problems: list[ConfigProblem],
) -> list[Tile]:
    at: KeyPath = ("layouts", name)
    wall_w, wall_h = wall
    if spec.grid is None and spec.canvas is None:
        canvas = wall
    else:
        canvas = spec.canvas or wall

    tiles: list[Tile] = []
    for tile_id, tile in spec.tiles.items():
        where = (*at, "tiles", tile_id)
        is_cell = tile.row is not None or tile.column is not None
        if is_cell and tile.rect is not None:
            problems.append(
                source.problem(
                    where, "found both a grid cell and rect, expected one of them"
                )
            )
            continue
        if tile.rect is not None:
            x, y, w, h = tile.rect
            if w <= 0 or h <= 0 or x < 0 or y < 0:
                problems.append(
                    source.problem(
                        (*where, "rect"),
                        f"found {list(tile.rect)}, expected [x, y, width, height] with "
                        "x, y ≥ 0 and width, height > 0",
                    )
                )
                continue
            if x + w > canvas[0] or y + h > canvas[1]:
                problems.append(
                    source.problem(
                        (*where, "rect"),
                        f"found {list(tile.rect)} reaching to ({x + w}, {y + h}), "
                        f"expected inside the {canvas[0]}x{canvas[1]} canvas",
                    )
                )
                continue
            rect = Rect(
                x * wall_w // canvas[0],
                y * wall_h // canvas[1],
                (x + w) * wall_w // canvas[0] - x * wall_w // canvas[0],
                (y + h) * wall_h // canvas[1] - y * wall_h // canvas[1],
            )
        elif is_cell:
            if spec.grid is None:
                problems.append(
                    source.problem(
                        where, "found a grid cell, expected the layout to have a grid"
                    )
                )
                continue
            if tile.row is None or tile.column is None:
                problems.append(
                    source.problem(
                        where, "found a cell without row or column, expected both"
                    )
                )
                continue
            grid = spec.grid
            if (
                tile.row + tile.rows > grid.rows
                or tile.column + tile.columns > grid.columns
            ):
                problems.append(
                    source.problem(
                        where,
                        f"found a cell at row {tile.row}, column {tile.column} spanning "
                        f"{tile.rows}x{tile.columns}, expected inside the "
                        f"{grid.rows}-row, {grid.columns}-column grid",
                    )
                )
                continue
            left = tile.column * wall_w // grid.columns
            right = (tile.column + tile.columns) * wall_w // grid.columns
            top = tile.row * wall_h // grid.rows
            bottom = (tile.row + tile.rows) * wall_h // grid.rows
            rect = Rect(left, top, right - left, bottom - top)
        else:
            problems.append(
                source.problem(
                    where, "found no placement, expected row and column, or rect"
                )
            )
            continue

        for other in tiles:
            if rect.overlaps(other.rect):
                problems.append(
                    source.problem(
                        where,
                        f"tile {tile_id!r} overlaps tile {other.id!r}; "
                        "expected tiles that do not overlap",
                    )
                )
                break
        else:
            tiles.append(Tile(str(tile_id), rect, tile.fit))
    return tiles


def compile_presets(
    spec: PresetsFileSpec,
    source: YamlFile,
    layouts: Mapping[str, Layout],
    config: ConfigSpec,
) -> tuple[dict[str, Preset], list[ConfigProblem]]:
    """Bind presets to their layouts; refuse unknown layouts, tiles, cameras, displays."""
    problems: list[ConfigProblem] = []
    presets = {}
    for name, preset in spec.presets.items():
        at: KeyPath = ("presets", name)
        layout = layouts.get(preset.layout)
        if layout is None:
            if layouts:
                problems.append(
                    source.problem(
                        (*at, "layout"),
                        f"found unknown layout {preset.layout!r}, expected one of: "
                        f"{', '.join(sorted(layouts))}",
                    )
                )
            continue
        ok = True
        shown: dict[str, str] = {}
        for tile_id, camera in preset.cameras.items():
            if camera is not None and camera in shown:
                problems.append(
                    source.problem(
                        (*at, "cameras", tile_id),
                        f"found camera {camera!r} again (already in tile {shown[camera]!r}), "
                        "expected each camera once per preset",
                    )
                )
                ok = False
            if camera is not None:
                shown.setdefault(camera, tile_id)
            if tile_id not in layout.tile_ids:
                problems.append(
                    source.problem(
                        (*at, "cameras", tile_id),
                        f"found tile {tile_id!r}, expected a tile of layout "
                        f"{layout.name!r}: {', '.join(layout.tile_ids)}",
                    )
                )
                ok = False
            if camera is not None and camera not in config.cameras:
                known = ", ".join(sorted(config.cameras)) or "(no cameras configured)"
                problems.append(
                    source.problem(
                        (*at, "cameras", tile_id),
                        f"found unknown camera {camera!r}, expected one of the config's "
                        f"cameras: {known}",
                    )
                )
                ok = False
        for index, action in enumerate(preset.display):
            if (message := validate_action(action.operation, action.value)) is not None:
                problems.append(source.problem((*at, "display", index), message))
                ok = False
            if action.display is not None and action.display not in config.displays:
                problems.append(
                    source.problem(
                        (*at, "display", index, "display"),
                        f"found unknown display {action.display!r}, expected one of: "
                        f"{', '.join(sorted(config.displays)) or '(no displays configured)'}",
                    )
                )
                ok = False
        if ok:
            presets[name] = Preset(
                name=name,
                layout=layout,
                cameras=preset.cameras,
                priority=preset.priority,
                title=preset.title or name,
                dwell_s=preset.dwell_s,
                display_actions=tuple(
                    DisplayAction(a.operation, a.value, a.display)
                    for a in preset.display
                ),
            )
    return presets, problems


def compile_tours(
    spec: PresetsFileSpec,
    source: YamlFile,
    presets: Mapping[str, Preset],
    declared: Collection[str] = (),
) -> tuple[dict[str, Tour], list[ConfigProblem]]:
    """Bind tours to their presets; refuse unknown and emergency presets in a tour.

    A step naming a preset in ``declared`` that did not compile (its own errors are
    reported) is left out without another error."""
    known = set(presets) | set(declared)
    problems: list[ConfigProblem] = []
    tours = {}
    for name, tour in spec.tours.items():
        steps = []
        for index, preset_name in enumerate(tour.presets):
            where: KeyPath = ("tours", name, "presets", index)
            preset = presets.get(preset_name)
            if preset is None:
                if known and preset_name not in known:
                    problems.append(
                        source.problem(
                            where,
                            f"found unknown preset {preset_name!r}, expected one of: "
                            f"{', '.join(sorted(known))}",
                        )
                    )
                continue
            if preset.is_emergency:
                problems.append(
                    source.problem(
                        where,
                        f"found emergency preset {preset_name!r}, expected normal "
                        "presets only (an emergency is never part of a tour)",
                    )
                )
                continue
            steps.append((preset_name, preset.dwell_s or tour.dwell_s))
        tours[name] = Tour(name, tuple(steps), tour.title or name)
    return tours, problems


def _check_references(
    spec: ConfigSpec, source: YamlFile, presets: Collection[str]
) -> list[ConfigProblem]:
    """Names in the config that must be presets: ``presets`` are all the presets file
    declares (empty when it could not be read: nothing is checked then)."""
    problems = []
    if (
        spec.startup_preset is not None
        and presets
        and spec.startup_preset not in presets
    ):
        problems.append(
            source.problem(
                ("startup_preset",),
                f"found unknown preset {spec.startup_preset!r}, expected one of: "
                f"{', '.join(sorted(presets))}",
            )
        )
    problems.extend(
        source.problem(key, message) for key, message in check_buttons(spec.buttons)
    )
    for name, button in spec.buttons.items():
        if (
            presets
            and button.action not in presets
            and button.action not in BUTTON_ACTIONS
        ):
            problems.append(
                source.problem(
                    ("buttons", name, "action"),
                    f"found {button.action!r}, expected a preset name or one of: "
                    f"{', '.join(BUTTON_ACTIONS)}",
                )
            )
    return problems
