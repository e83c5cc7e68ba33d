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
)
from controller.config.yamlfile import KeyPath, YamlFile, format_key, load_yaml
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
    """Read and check the config at ``path``; raise ConfigError listing every problem.

    A file with errors in its structure is checked further without the keys in error
    (see ``_validate_leniently``), so that one run of ``opswall check-config`` lists
    the problems of every file and every reference, not only the first kind found.
    """
    path = Path(path)
    config_file = load_yaml(path)
    base = path.parent
    spec, problems, pruned = _validate_leniently(ConfigSpec, config_file)
    if spec is None:
        raise ConfigError(problems)

    layouts: dict[str, Layout] = {}
    presets: dict[str, Preset] = {}
    tours: dict[str, Tour] = {}
    # Every preset the file names, compiled or not: a preset with its own errors is
    # not reported again as unknown wherever it is referred to.
    declared: set[str] = set()
    # Likewise every tile a layout names, placed or not.
    declared_tiles: dict[str, set[str]] = {}
    try:
        layouts_file = load_yaml(base / spec.layouts)
        layouts_spec, found, cut = _validate_leniently(LayoutsFileSpec, layouts_file)
        problems.extend(found)
        pruned.extend(cut)
        declared_tiles = _tiles_named(layouts_file.data)
        if layouts_spec is not None:
            layouts, found = compile_layouts(
                layouts_spec, layouts_file, spec.wall.resolution
            )
            problems.extend(_not_follow_ons(found, cut))
    except ConfigError as err:
        problems.extend(err.problems)
    try:
        presets_file = load_yaml(base / spec.presets)
        presets_spec, found, cut = _validate_leniently(PresetsFileSpec, presets_file)
        problems.extend(found)
        pruned.extend(cut)
        declared = _presets_named(presets_file.data)
        if presets_spec is not None:
            presets, found = compile_presets(
                presets_spec, presets_file, layouts, spec, declared_tiles
            )
            problems.extend(_not_follow_ons(found, cut))
            tours, found = compile_tours(presets_spec, presets_file, presets, declared)
            problems.extend(_not_follow_ons(found, cut))
    except ConfigError as err:
        problems.extend(err.problems)

    problems.extend(
        _not_follow_ons(_check_references(spec, config_file, declared), pruned)
    )
    if problems:
        raise ConfigError(problems)
    return Config(
        path,
        spec,
        MappingProxyType(layouts),
        MappingProxyType(presets),
        MappingProxyType(tours),
    )


#: Keys taken out, one at a time, before a file's structure is given up on.
MAX_KEYS_LEFT_OUT = 100


def _validate_leniently(
    model: type[ModelT], source: YamlFile
) -> tuple[ModelT | None, list[ConfigProblem], list[tuple[str, str]]]:
    """``source`` as ``model``, with the problems of its structure.

    When the structure has errors, the keys in error are left out one by one (the
    deepest key of each error's path that the file has) until the rest is valid, so
    the rest can still be checked. Returns the model (None when nothing valid is
    left), the problems, and the (file, key) of every key left out: problems found
    later at those keys or above them follow from the first and are not reported.
    """
    try:
        return _validate(model, source), [], []
    except ConfigError as err:
        problems = list(err.problems)
    data = _thawed({} if source.data is None else source.data)
    left_out: list[tuple[str, str]] = []
    for _ in range(MAX_KEYS_LEFT_OUT):
        try:
            return model.model_validate(data), problems, left_out
        except ValidationError as err:
            removed = _remove(data, err.errors()[0]["loc"])
        if not removed:
            break
        left_out.append((source.path, format_key(removed)))
    return None, problems, left_out


def _thawed(value: Any) -> Any:
    """A copy of parsed YAML that can be changed (sequences as lists)."""
    if isinstance(value, dict):
        return {key: _thawed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_thawed(item) for item in value]
    return value


def _remove(data: Any, loc: tuple[Any, ...]) -> KeyPath:
    """Delete the deepest key of ``loc`` that ``data`` has; return its path (empty
    when even the first is not there)."""
    node: Any = data
    parent: Any = None
    path: list[Any] = []
    for part in loc:
        if isinstance(node, dict) and part in node:
            parent, node = node, node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            parent, node = node, node[part]
        else:
            break
        path.append(part)
    if parent is None:
        return ()
    del parent[path[-1]]
    return tuple(path)


def _not_follow_ons(
    problems: list[ConfigProblem], left_out: list[tuple[str, str]]
) -> list[ConfigProblem]:
    """``problems`` without those at a key left out, under it, or above it."""
    return [
        problem
        for problem in problems
        if not any(
            problem.file == file and _same_branch(problem.key, key)
            for file, key in left_out
        )
    ]


def _same_branch(one: str, other: str) -> bool:
    def within(inner: str, outer: str) -> bool:
        return inner == outer or inner.startswith((f"{outer}.", f"{outer}["))

    return within(one, other) or within(other, one)


def _presets_named(data: Any) -> set[str]:
    """Every preset name a presets file gives, valid or not."""
    presets = data.get("presets") if isinstance(data, dict) else None
    return set(map(str, presets)) if isinstance(presets, dict) else set()


def _tiles_named(data: Any) -> dict[str, set[str]]:
    """Every tile id each layout of a layouts file names, valid or not."""
    layouts = data.get("layouts") if isinstance(data, dict) else None
    if not isinstance(layouts, dict):
        return {}
    return {
        str(name): set(map(str, layout["tiles"]))
        for name, layout in layouts.items()
        if isinstance(layout, dict) and isinstance(layout.get("tiles"), dict)
    }


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
    declared_tiles: Mapping[str, Collection[str]] | None = None,
) -> tuple[dict[str, Preset], list[ConfigProblem]]:
    """Bind presets to their layouts; refuse unknown layouts, tiles, cameras, displays.

    A tile its layout names but could not place (``declared_tiles``: its own error is
    reported) leaves the preset out without another error."""
    declared_tiles = declared_tiles or {}
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
                ok = False
                if tile_id not in declared_tiles.get(layout.name, ()):
                    problems.append(
                        source.problem(
                            (*at, "cameras", tile_id),
                            f"found tile {tile_id!r}, expected a tile of layout "
                            f"{layout.name!r}: "
                            + ", ".join(_tile_names(layout, declared_tiles)),
                        )
                    )
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


def _tile_names(
    layout: Layout, declared_tiles: Mapping[str, Collection[str]]
) -> list[str]:
    """The layout's tiles, with those it names but could not place."""
    placed = list(layout.tile_ids)
    return placed + sorted(set(declared_tiles.get(layout.name, ())) - set(placed))


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
