"""Fixtures of the button tests: gpiozero's mock pins and a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from button_helpers import FakeClock
from gpiozero.pins.mock import MockFactory

import controller.buttons  # noqa: F401  (loads the config package first)


@pytest.fixture
def mock_factory() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
