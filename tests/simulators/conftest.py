"""Fixtures for the simulator contract tests."""

from collections.abc import AsyncIterator

import aiohttp
import pytest

from simulators import SimulatorStack


@pytest.fixture
async def stack(socket_enabled: None) -> AsyncIterator[SimulatorStack]:
    """Start every simulator on 127.0.0.1."""
    async with SimulatorStack(seed=1) as started:
        yield started


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Provide a client session closed after the test."""
    async with aiohttp.ClientSession() as client:
        yield client
