"""Stateful fakes of the HTTP APIs SmartPlex talks to (no Home Assistant inside)."""

from .arr import ArrSimulator
from .base import Fault, RecordedRequest, Simulator
from .overseerr import OverseerrSimulator
from .plex import LibrarySection, PlexSimulator
from .plextv import PlexTvSimulator
from .stack import SimulatorStack
from .tautulli import TautulliSimulator

__all__ = [
    "ArrSimulator",
    "Fault",
    "LibrarySection",
    "OverseerrSimulator",
    "PlexSimulator",
    "PlexTvSimulator",
    "RecordedRequest",
    "Simulator",
    "SimulatorStack",
    "TautulliSimulator",
]
