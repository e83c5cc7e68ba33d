"""Base of every configuration schema model: frozen, strict, unknown keys refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    """A part of a configuration file as written by a technician."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
