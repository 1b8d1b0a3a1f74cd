"""Run the whole simulator stack until Ctrl-C: python -m simulators [--seed N]."""

import argparse
import asyncio
import contextlib
import sys

from .stack import SimulatorStack


async def _serve(seed: int) -> None:
    """Start the stack, print how to reach it and wait forever."""
    async with SimulatorStack(seed=seed) as stack:
        lines = [
            f"plex       {stack.plex.url}  token={stack.plex.token}",
            f"plex.tv    {stack.plextv.url}",
            f"sonarr     {stack.sonarr.url}  api_key={stack.sonarr.api_key}",
            f"radarr     {stack.radarr.url}  api_key={stack.radarr.api_key}",
            f"tautulli   {stack.tautulli.url}  api_key={stack.tautulli.api_key}",
            f"overseerr  {stack.overseerr.url}  api_key={stack.overseerr.api_key}",
            "Ctrl-C to stop.",
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        await asyncio.Event().wait()


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m simulators")
    parser.add_argument("--seed", type=int, default=0)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args().seed))


if __name__ == "__main__":
    main()
