"""Fixtures and markers of the appliance tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "image: boots the built amd64 image under qemu (make image-test; "
        "runs only with OPSWALL_IMAGE_TEST=1)",
    )
