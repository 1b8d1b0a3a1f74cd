"""What each step does on each service, re-reading before and after (no HA imports).

A step first re-reads the item on its service: an item already gone counts as done (a
crash between a call and its journal entry is harmless), one whose ids no longer match
the plan's is aborted, and a failed read is an error, never an answer.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from custom_components.smartplex.api import (
    ArrClient,
    ArrMovie,
    ArrSeries,
    OverseerrClient,
    PlexClient,
    SmartPlexApiError,
    SmartPlexNotFoundError,
)

from .plan import Manager, PlanItem

LEAVING_SOON = "Leaving soon"
SHOW_REMOVED = "show removed"
NOT_MONITORED_BEFORE = "was not monitored before"


class ItemAbortedError(Exception):
    """The service's item no longer matches the plan's: never touch it."""


@dataclass(slots=True, kw_only=True)
class Services:
    """The clients a purge may use, by subentry id where there can be several."""

    plex: PlexClient
    radarr: dict[str, ArrClient] = field(default_factory=dict)
    sonarr: dict[str, ArrClient] = field(default_factory=dict)
    overseerr: OverseerrClient | None = None
    plex_deletion_allowed: bool = False
    disabled: Callable[[str], bool] = lambda _key: False

    def arr(self, item: PlanItem) -> ArrClient:
        """Return the Radarr or Sonarr that manages an item."""
        instances = self.radarr if item.manager == Manager.RADARR else self.sonarr
        if item.arr_key is None or (client := instances.get(item.arr_key)) is None:
            raise ItemAbortedError(
                f"the {item.manager} that manages it is no longer configured"
            )
        return client


async def collection(plex: PlexClient, item: PlanItem) -> int:
    """Find or create the section's "Leaving soon" collection and show it on home."""
    found = await plex.async_find_collection(item.section_id, LEAVING_SOON)
    if found is not None:
        return found
    key = await plex.async_create_collection(
        item.section_id, LEAVING_SOON, item.level, [item.key]
    )
    await plex.async_promote_collection(item.section_id, key)
    return key


async def set_monitored(
    services: Services, item: PlanItem, monitored: bool
) -> str | None:
    """Set monitoring of exactly what the item covers; remember the old flag."""
    if item.manager == Manager.RADARR:
        radarr = services.arr(item)
        movie = await radarr.async_get_movie(_arr_id(item))
        if movie is None:
            return "not in radarr any more"
        match(item, movie)
        if not _remember(item, monitored, movie.monitored):
            return NOT_MONITORED_BEFORE
        await radarr.async_set_movie_monitored(movie, monitored)
        return None
    sonarr = services.arr(item)
    series = await sonarr.async_get_series(_arr_id(item))
    if series is None:
        return "not in sonarr any more"
    match(item, series)
    if item.level == "show":
        if not _remember(item, monitored, series.monitored):
            return NOT_MONITORED_BEFORE
        await sonarr.async_set_series_monitored(series, monitored)
        return None
    episodes = [
        e
        for e in await sonarr.async_get_episodes(series.id)
        if e.season_number == item.season
        and (item.level == "season" or e.episode_number == item.episode)
    ]
    if not _remember(item, monitored, any(e.monitored for e in episodes)):
        return NOT_MONITORED_BEFORE
    if item.level == "season":
        await sonarr.async_set_series_monitored(series, monitored, season=item.season)
    await sonarr.async_set_episodes_monitored([e.id for e in episodes], monitored)
    return f"{len(episodes)} episodes"


def _remember(item: PlanItem, monitored: bool, current: bool) -> bool:
    """Keep the flag from before SmartPlex first changed it; say if restore monitors.

    A retried unmonitor reads the flag SmartPlex itself set: the first reading stays.
    """
    if not monitored:
        if item.was_monitored is None:
            item.was_monitored = current
        return True
    return bool(item.was_monitored)


def match(item: PlanItem, found: ArrMovie | ArrSeries) -> None:
    """Abort when the service's item is no longer the plan's: other id or year."""
    if isinstance(found, ArrMovie):
        kind, seen, expected = "tmdb", found.tmdb_id, item.tmdb_id
    else:
        kind, seen, expected = "tvdb", found.tvdb_id, item.tvdb_id
    if seen != expected:
        raise ItemAbortedError(
            f"{item.manager} item {item.arr_id} now has {kind} {seen}, "
            f"the plan expected {expected}"
        )
    if found.year and item.year and abs(found.year - item.year) > 1:
        raise ItemAbortedError(
            f"{item.manager} item {item.arr_id} is from {found.year}, "
            f"the plan's from {item.year}"
        )


async def keep(plex: PlexClient, item: PlanItem, label: str) -> None:
    """Label the item (a season or episode: its show) so rules leave it alone."""
    key = item.key if item.level in ("movie", "show") else item.show_key
    found = None if key is None else await plex.async_get_item(key)
    if found is None:
        raise SmartPlexApiError("Plex", f"{item.title} is no longer in Plex")
    if label not in found.labels:
        await plex.async_add_label(found, label)


async def uncollect(plex: PlexClient, item: PlanItem) -> str | None:
    """Take the item out of the section's "Leaving soon" collection."""
    key = await plex.async_find_collection(item.section_id, LEAVING_SOON)
    if key is None:
        return "no collection"
    await plex.async_remove_from_collection(key, item.key)
    return None


async def delete(services: Services, item: PlanItem, *, exclusion: bool) -> str | None:
    """Delete the files, then read again to make sure they are gone."""
    if item.manager == Manager.RADARR:
        radarr = services.arr(item)
        movie = await radarr.async_get_movie(_arr_id(item))
        if movie is None:
            return await gone_elsewhere(services.plex, item)
        match(item, movie)
        try:
            await radarr.async_delete_movie(
                movie.id,
                delete_files=True,
                add_exclusion=exclusion,
            )
        except SmartPlexNotFoundError:
            return await gone_elsewhere(services.plex, item)
        if await radarr.async_get_movie(movie.id) is not None:
            raise _still_there("radarr", item)
        return None
    if item.manager == Manager.SONARR:
        return await delete_episodes(
            services.arr(item), services.plex, item, exclusion=exclusion
        )
    return await delete_on_plex(services.plex, item)


async def gone_elsewhere(plex: PlexClient, item: PlanItem) -> str:
    """Accept that an item left its manager only if Plex shows its files gone too.

    This is the normal case after a crash between a deletion and its journal entry.
    If the files are still there (someone removed the title from Radarr or Sonarr but
    kept the files), SmartPlex does not delete them another way.
    """
    files = item.keys if item.level in ("movie", "episode") else item.keys[1:]
    for key in files:
        found = await plex.async_get_item(key)
        if found is not None and not found.file_missing:
            raise ItemAbortedError(
                f"{item.manager} no longer manages it but its files remain"
            )
    return f"already gone from {item.manager}"


async def delete_episodes(
    sonarr: ArrClient, plex: PlexClient, item: PlanItem, *, exclusion: bool
) -> str | None:
    """Delete a series, or exactly a season's or an episode's files."""
    series = await sonarr.async_get_series(_arr_id(item))
    if series is None:
        return await gone_elsewhere(plex, item)
    match(item, series)
    if item.level == "show":
        try:
            await sonarr.async_delete_series(
                series.id,
                delete_files=True,
                add_exclusion=exclusion,
            )
        except SmartPlexNotFoundError:
            return await gone_elsewhere(plex, item)
        if await sonarr.async_get_series(series.id) is not None:
            raise _still_there("sonarr", item)
        return None
    if item.season not in series.seasons:
        raise ItemAbortedError(f"sonarr series {series.id} has no season {item.season}")
    if item.level == "season":
        files = [
            f
            for f in await sonarr.async_get_episode_files(series.id)
            if f.season_number == item.season
        ]
    else:
        wanted = {
            e.episode_file_id
            for e in await sonarr.async_get_episodes(series.id)
            if e.season_number == item.season
            and e.episode_number == item.episode
            and e.episode_file_id
        }
        files = [
            f for f in await sonarr.async_get_episode_files(series.id) if f.id in wanted
        ]
    for file in files:
        try:
            await sonarr.async_delete_episode_file(file.id)
        except SmartPlexNotFoundError:
            continue
    left = {f.id for f in await sonarr.async_get_episode_files(series.id)}
    if left.intersection(f.id for f in files):
        raise _still_there("sonarr", item)
    return f"{len(files)} files" if files else "no files left"


async def remove_if_empty(sonarr: ArrClient, item: PlanItem, *, exclusion: bool) -> str:
    """After a season's or episode's purge, delete the series if no file is left."""
    series = await sonarr.async_get_series(_arr_id(item))
    if series is None:
        return SHOW_REMOVED
    match(item, series)
    if left := await sonarr.async_get_episode_files(series.id):
        return f"{len(left)} files left: the show stays"
    try:
        await sonarr.async_delete_series(
            series.id, delete_files=True, add_exclusion=exclusion
        )
    except SmartPlexNotFoundError:
        return SHOW_REMOVED
    if await sonarr.async_get_series(series.id) is not None:
        raise _still_there("sonarr", item)
    return SHOW_REMOVED


async def delete_on_plex(plex: PlexClient, item: PlanItem) -> str | None:
    """Delete through Plex, for what no Radarr or Sonarr manages."""
    found = await plex.async_get_item(item.key)
    if found is None:
        return "already gone from plex"
    if item.level in ("movie", "show"):
        same = (found.tmdb_id, found.tvdb_id) == (item.tmdb_id, item.tvdb_id)
    else:
        same = (found.season_index, found.episode_index) == (item.season, item.episode)
    if not same:
        raise ItemAbortedError(f"plex item {item.key} is no longer what was planned")
    try:
        await plex.async_delete_item(item.key)
    except SmartPlexNotFoundError:
        return "already gone from plex"
    if await plex.async_get_item(item.key) is not None:
        raise _still_there("plex", item)
    return None


async def media_index(overseerr: OverseerrClient) -> dict[tuple[str, int], int]:
    """Map (media type, tmdb or tvdb id) to Overseerr's media id, from its requests."""
    media: dict[tuple[str, int], int] = {}
    async for page in overseerr.async_iter_requests():
        for request in page:
            ext = request.tmdb_id if request.media_type == "movie" else request.tvdb_id
            if request.media_id is not None and ext is not None:
                media[request.media_type, ext] = request.media_id
    return media


async def reset_request(
    overseerr: OverseerrClient, media_ids: Mapping[tuple[str, int], int], item: PlanItem
) -> str | None:
    """Delete Overseerr's media entry so the title can be requested again."""
    ext_id = item.tmdb_id if item.media == "movie" else item.tvdb_id
    media_id = None if ext_id is None else media_ids.get((item.media, ext_id))
    if media_id is None:
        return "no request"
    try:
        await overseerr.async_delete_media(media_id)
    except SmartPlexNotFoundError:
        return "already reset"
    return f"media {media_id}"


def _arr_id(item: PlanItem) -> int:
    """Return the item's Radarr/Sonarr id."""
    if item.arr_id is None:
        raise ItemAbortedError("the plan has no radarr or sonarr id for it")
    return item.arr_id


def _still_there(service: str, item: PlanItem) -> SmartPlexApiError:
    """The service accepted the deletion but still lists the item."""
    return SmartPlexApiError(service, f"{item.title} is still there after deletion")
