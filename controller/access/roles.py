"""The three roles, each allowed what the one below it may do and more."""

from __future__ import annotations

import enum


class Role(enum.IntEnum):
    """viewer < operator < admin."""

    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        """The role as written in the API and the users file."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named ``text``; ValueError naming the known roles."""
        try:
            return cls[text.upper()]
        except KeyError:
            known = ", ".join(role.label for role in cls)
            raise ValueError(f"unknown role {text!r}; known: {known}") from None
