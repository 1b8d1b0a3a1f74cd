"""Run the whole simulator stack until Ctrl-C.

python -m simulators [--seed N] [--movies N] [--shows N]
"""

import argparse
import asyncio
import contextlib
import sys

from .stack import SimulatorStack


async def _serve(seed: int, movies: int, shows: int) -> None:
    """Start the stack, print how to reach it and wait forever."""
    async with SimulatorStack(seed=seed, movies=movies, shows=shows) as stack:
        world = stack.world
        lines = [
            f"plex       {stack.plex.url}  token={stack.plex.token}",
            f"plex.tv    {stack.plextv.url}",
            f"sonarr     {stack.sonarr.url}  api_key={stack.sonarr.api_key}",
            f"radarr     {stack.radarr.url}  api_key={stack.radarr.api_key}",
            f"tautulli   {stack.tautulli.url}  api_key={stack.tautulli.api_key}",
            f"overseerr  {stack.overseerr.url}  api_key={stack.overseerr.api_key}",
            (
                f"world      seed={seed} movies={len(world.movies)}"
                f" shows={len(world.shows)} episodes={len(world.episodes)}"
                f" plays={len(world.plays)} requests={len(world.requests)}"
            ),
            "Ctrl-C to stop.",
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        await asyncio.Event().wait()


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m simulators")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--movies", type=int, default=50, help="movies in the world")
    parser.add_argument("--shows", type=int, default=8, help="shows in the world")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.seed, args.movies, args.shows))


if __name__ == "__main__":
    main()
