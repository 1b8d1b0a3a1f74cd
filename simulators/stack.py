"""All six simulators started together, wired as in a real home."""

from __future__ import annotations

import asyncio
from typing import Self

from .arr import ArrSimulator
from .base import Simulator
from .overseerr import OverseerrSimulator
from .plex import PlexSimulator
from .plextv import PlexTvSimulator
from .tautulli import TautulliSimulator
from .world import World


class SimulatorStack:
    """Plex, plex.tv, Sonarr, Radarr, Tautulli and Overseerr on ephemeral ports."""

    def __init__(
        self,
        *,
        seed: int = 0,
        movies: int = 50,
        shows: int = 8,
        world: World | None = None,
    ) -> None:
        """Create the simulators on one household; plex.tv and Tautulli know the Plex."""
        self.world = world or World.generate(seed=seed, movies=movies, shows=shows)
        self.plex = PlexSimulator(seed=seed, world=self.world)
        self.plextv = PlexTvSimulator(seed=seed, world=self.world, plex=self.plex)
        self.sonarr = ArrSimulator("Sonarr", seed=seed, world=self.world)
        self.radarr = ArrSimulator("Radarr", seed=seed, world=self.world)
        self.tautulli = TautulliSimulator(seed=seed, world=self.world, plex=self.plex)
        self.overseerr = OverseerrSimulator(seed=seed, world=self.world)

    @property
    def simulators(self) -> tuple[Simulator, ...]:
        """Return every simulator of the stack."""
        return (
            self.plex,
            self.plextv,
            self.sonarr,
            self.radarr,
            self.tautulli,
            self.overseerr,
        )

    async def start(self) -> None:
        """Start every simulator."""
        await asyncio.gather(*(sim.start() for sim in self.simulators))

    async def stop(self) -> None:
        """Stop every simulator."""
        await asyncio.gather(*(sim.stop() for sim in self.simulators))

    async def __aenter__(self) -> Self:
        """Start on entering the context."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop on leaving the context."""
        await self.stop()
