"""Request bodies as strict JSON: standard JSON only, within a sane depth.

Python's json module accepts ``NaN``, ``Infinity`` and numbers that overflow to
infinity (``1e309``); none of them is JSON, and one that reached a handler or the
audit log made replies and the log unreadable. It also keeps the last of duplicate
keys, so a proxy or log reading the first would see another request than the handler.
Deeply nested arrays exhaust the parser's recursion. Each is refused here with a 400
that says why.
"""

from __future__ import annotations

import json
import math
from typing import Any

from controller.errors import OpswallError


class BodyError(OpswallError, ValueError):
    """A request body that is not strict JSON."""

    http_status = 400


def loads(text: str) -> Any:
    """The JSON value of ``text``; BodyError when it is not strict JSON."""
    try:
        return json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as err:
        raise BodyError(f"request body is not valid JSON: {err}") from None
    except RecursionError:
        raise BodyError("request body is nested too deeply") from None


def _refuse_constant(name: str) -> Any:
    raise BodyError(f"request body is not valid JSON: {name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BodyError(
                f"request body is not valid JSON here: key {key[:80]!r} appears twice"
            )
        result[key] = value
    return result


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyError(
            f"request body is not valid JSON: {text} is too large for a number"
        )
    return value
