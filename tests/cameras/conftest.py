"""Fixtures of the camera tests: a password that breaks naive URL building."""

from __future__ import annotations

import pytest

#: Every character that has a meaning in a URL, a percent sign and a non-ASCII one.
NASTY_PASSWORD = "p@ss:w/rd?#%€ x"


@pytest.fixture
def nasty_password() -> str:
    return NASTY_PASSWORD
