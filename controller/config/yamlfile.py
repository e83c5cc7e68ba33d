"""YAML files read safely, with the line of every key kept for error messages."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from controller.errors import ConfigError, ConfigProblem

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlFile:
    """The parsed content of one YAML file and where each key was written."""

    path: str
    data: Any
    lines: dict[KeyPath, int] = field(repr=False)

    def line_of(self, key_path: KeyPath) -> int | None:
        """Line of ``key_path``, or of its nearest parent that has one."""
        path = tuple(key_path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def problem(self, key_path: KeyPath, message: str) -> ConfigProblem:
        """A problem located at ``key_path`` in this file."""
        return ConfigProblem(
            self.path, self.line_of(key_path), format_key(key_path), message
        )


def format_key(key_path: KeyPath) -> str:
    """``("presets", "flood", "cameras", 0)`` → ``presets.flood.cameras[0]``."""
    text = ""
    for part in key_path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def load_yaml(path: str | Path) -> YamlFile:
    """Read ``path`` safely; sequences become tuples, duplicate keys are refused."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(name, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            [ConfigProblem(name, None, "", f"cannot read: {err}")]
        ) from err
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> YamlFile:
    """Parse YAML ``text`` that came from the file called ``name``."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(
            [ConfigProblem(name, line, "", f"not valid YAML: {err.problem}")]
        ) from err
    except yaml.YAMLError as err:
        raise ConfigError(
            [ConfigProblem(name, None, "", f"not valid YAML: {err}")]
        ) from err
    finally:
        loader.dispose()

    lines: dict[KeyPath, int] = {}
    problems: list[ConfigProblem] = []
    if node is None:
        return YamlFile(name, None, {(): 1})
    data = _build(loader, node, (), lines, problems, name)
    if problems:
        raise ConfigError(problems)
    return YamlFile(name, data, lines)


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: KeyPath,
    lines: dict[KeyPath, int],
    problems: list[ConfigProblem],
    name: str,
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int) or isinstance(key, bool):
                problems.append(
                    ConfigProblem(
                        name,
                        line,
                        format_key(path),
                        f"found key {key!r}, expected a name (text)",
                    )
                )
                continue
            if key in result:
                problems.append(
                    ConfigProblem(
                        name,
                        line,
                        format_key((*path, key)),
                        f"duplicate key {key!r} (first written on line "
                        f"{lines[(*path, key)]}); each name may appear once",
                    )
                )
                continue
            lines[(*path, key)] = line
            result[key] = _build(
                loader, value_node, (*path, key), lines, problems, name
            )
        return result
    if isinstance(node, yaml.SequenceNode):
        return tuple(
            _build(loader, item, (*path, index), lines, problems, name)
            for index, item in enumerate(node.value)
        )
    return loader.construct_object(node, deep=True)
