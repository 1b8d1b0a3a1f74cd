"""Fixtures for SmartPlex tests: real simulators over HTTP on 127.0.0.1."""

from collections.abc import AsyncIterator, Iterator
from unittest.mock import patch

import pytest

# Import our package before Home Assistant's test harness puts its own
# testing_config first on sys.path, where it would shadow custom_components.
import custom_components.smartplex as _smartplex  # noqa: F401
from simulators import SimulatorStack

pytest_plugins = ["tests.faults.matrix", "tests.figures"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load SmartPlex from custom_components."""


@pytest.fixture(autouse=True)
def fast_plex_tv_polling() -> Iterator[None]:
    """Poll plex.tv for the sign-in PIN without waiting seconds."""
    with patch("custom_components.smartplex.config_flow.PLEX_TV_POLL_INTERVAL", 0.01):
        yield


@pytest.fixture
async def stack(socket_enabled: None) -> AsyncIterator[SimulatorStack]:
    """Start every simulated service on 127.0.0.1."""
    async with SimulatorStack() as started:
        with patch(
            "custom_components.smartplex.config_flow.PLEX_TV_URL", started.plextv.url
        ):
            yield started
