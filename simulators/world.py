"""One consistent household that every simulator serves a view of.

A seeded generator makes N movies and M shows (seasons, episodes) with files, sizes and
quality, play history per user, Sonarr/Radarr records pointing at the same tmdb/tvdb ids and
the same files, and Overseerr requests for some of them. Deleting a file through one service
changes what every service reports: the disk gets its space back at once, Plex keeps the item
(marked `deletedAt`) until its section is scanned.

Everything is built once; simulators render pages of it per request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
import random

DAY = 86_400
DEFAULT_NOW = 1_764_460_800  # 2025-11-30 00:00 UTC
GIB = 1024**3

MOVIE_SECTION = 1
SHOW_SECTION = 2
MOVIE_ROOT = "/data/movies"
TV_ROOT = "/data/tv"

# resolution label, width, height, relative weight, bytes per minute (low, high)
RESOLUTIONS = (
    ("4k", 3840, 2160, 15, (200_000_000, 600_000_000)),
    ("1080", 1920, 1080, 55, (40_000_000, 150_000_000)),
    ("720", 1280, 720, 20, (15_000_000, 45_000_000)),
    ("480", 720, 480, 6, (6_000_000, 15_000_000)),
    ("sd", 640, 360, 4, (3_000_000, 8_000_000)),
)
VIDEO_CODECS = (("h264", 55), ("hevc", 35), ("av1", 6), ("mpeg4", 4))
AUDIO_CODECS = (("aac", 40), ("ac3", 25), ("eac3", 20), ("dca", 10), ("truehd", 5))
CONTAINERS = (("mkv", 75), ("mp4", 22), ("avi", 3))
WORDS = [
    "Silent",
    "Crimson",
    "Last",
    "Northern",
    "Hidden",
    "Broken",
    "Golden",
    "Lost",
    "Wild",
    "Distant",
    "Electric",
    "Iron",
    "Paper",
    "Winter",
    "Summer",
    "Midnight",
    "Glass",
    "Falling",
    "Rising",
    "Secret",
    "Burning",
    "Frozen",
    "Hollow",
    "Bright",
    "River",
    "Empire",
    "Garden",
    "Signal",
    "Harbor",
    "Machine",
    "Orchard",
    "Station",
    "Kingdom",
    "Voyage",
    "Theory",
    "Letter",
    "Mirror",
    "Forest",
    "Bridge",
    "Country",
    "Island",
    "Engine",
    "Shadow",
    "Horizon",
    "Canyon",
    "Lantern",
    "Comet",
    "Archive",
]
USERS = ("alice", "bob", "carol", "dave", "erin")


def _pick(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    """Draw one value from a (value, weight) table."""
    return rng.choices([v for v, _ in table], [w for _, w in table])[0]


@dataclass(slots=True)
class MediaFile:
    """One file on disk: a Plex Media with one Part, and an *arr file record."""

    media_id: int
    part_id: int
    path: str
    size: int
    duration: int  # ms
    container: str
    video_codec: str
    audio_codec: str
    resolution: str
    width: int
    height: int
    bitrate: int  # kbps
    exists: bool = True


@dataclass(slots=True)
class Movie:
    """A movie in Plex's movie section (and usually in Radarr)."""

    rating_key: int
    title: str
    year: int
    tmdb_id: int
    imdb_id: str
    guid: str
    added_at: int
    updated_at: int
    file: MediaFile | None
    radarr_id: int | None
    monitored: bool = True
    tags: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    view_count: int = 0
    last_viewed_at: int | None = None
    in_plex: bool = True


@dataclass(slots=True)
class Episode:
    """One episode of a show."""

    rating_key: int
    show_key: int
    season_key: int
    season_index: int
    index: int
    title: str
    added_at: int
    updated_at: int
    file: MediaFile | None
    sonarr_id: int
    sonarr_file_id: int | None
    monitored: bool = True
    view_count: int = 0
    last_viewed_at: int | None = None
    in_plex: bool = True


@dataclass(slots=True)
class Season:
    """A season of a show; season 0 holds the specials."""

    rating_key: int
    show_key: int
    index: int
    episode_keys: list[int]
    added_at: int
    updated_at: int
    monitored: bool = True


@dataclass(slots=True)
class Show:
    """A show in Plex's TV section (and usually in Sonarr)."""

    rating_key: int
    title: str
    year: int
    tvdb_id: int
    tmdb_id: int
    imdb_id: str
    guid: str
    added_at: int
    updated_at: int
    season_keys: list[int]
    sonarr_id: int | None
    monitored: bool = True
    tags: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    in_plex: bool = True


@dataclass(slots=True, frozen=True)
class User:
    """A Plex user of the household (id 1 is the owner)."""

    id: int
    username: str
    email: str


@dataclass(slots=True)
class Play:
    """One play session, as Tautulli records it."""

    id: int
    user_id: int
    rating_key: int
    parent_rating_key: int | None
    grandparent_rating_key: int | None
    media_type: str  # "movie" or "episode"
    started: int
    stopped: int
    play_duration: int  # seconds
    percent_complete: int
    watched_status: float  # 0, 0.5 or 1


@dataclass(slots=True)
class MediaRequest:
    """An Overseerr request of a movie or of some seasons of a show."""

    id: int
    media_id: int
    media_type: str  # "movie" or "tv"
    tmdb_id: int
    tvdb_id: int | None
    rating_key: int
    requested_by: int  # user id
    status: int  # 1 pending, 2 approved, 3 declined, 4 failed, 5 completed
    media_status: int  # 1 unknown .. 5 available
    created_at: int
    updated_at: int
    seasons: list[int] = field(default_factory=list)
    is4k: bool = False


@dataclass(slots=True)
class Disk:
    """A disk the *arrs report in /api/v3/diskspace."""

    path: str
    label: str
    total: int
    other_used: int  # bytes used by things that are not media
    media_used: int = 0

    @property
    def free(self) -> int:
        """Free bytes now."""
        return self.total - self.other_used - self.media_used


@dataclass
class World:
    """The household: media in Plex, the *arrs and Overseerr, and who watched what."""

    now: int = DEFAULT_NOW
    movies: dict[int, Movie] = field(default_factory=dict)
    shows: dict[int, Show] = field(default_factory=dict)
    seasons: dict[int, Season] = field(default_factory=dict)
    episodes: dict[int, Episode] = field(default_factory=dict)
    users: list[User] = field(default_factory=list)
    plays: list[Play] = field(default_factory=list)
    requests: list[MediaRequest] = field(default_factory=list)
    disks: list[Disk] = field(default_factory=list)
    _next_id: int = 1000
    version: int = 0  # bumped by every change of what Plex lists (caches compare it)

    def new_id(self) -> int:
        """Return a fresh id (rating keys, media, parts, *arr and request ids)."""
        self._next_id += 1
        return self._next_id

    @classmethod
    def generate(
        cls,
        *,
        seed: int = 0,
        movies: int = 50,
        shows: int = 8,
        episodes_per_season: int = 8,
        now: int = DEFAULT_NOW,
    ) -> World:
        """Make a household of `movies` movies and `shows` shows, deterministically."""
        rng = random.Random(seed)
        world = cls(now=now)
        world.users = [
            User(i + 1, name, f"{name}@example.com") for i, name in enumerate(USERS)
        ]
        world.disks = [
            Disk(MOVIE_ROOT, "movies", 0, 50 * GIB),
            Disk(TV_ROOT, "tv", 0, 30 * GIB),
        ]
        for index in range(movies):
            world._add_movie(rng, index)
        for index in range(shows):
            world._add_show(rng, index, episodes_per_season)
        for disk in world.disks:
            # Leave a fifth of the disk free, so cleanup matters but nothing is full.
            disk.total = int((disk.other_used + disk.media_used) * 1.25) + GIB
        return world

    def _title(self, rng: random.Random) -> str:
        """Return a made-up title."""
        return " ".join(rng.sample(WORDS, rng.choice((1, 2, 2, 3)))).title()

    def _file(self, rng: random.Random, path: str, minutes: int) -> MediaFile:
        """Make a media file with plausible quality and size."""
        label, width, height, _, (low, high) = rng.choices(
            RESOLUTIONS, [r[3] for r in RESOLUTIONS]
        )[0]
        size = minutes * rng.randint(low, high)
        container = _pick(rng, CONTAINERS)
        return MediaFile(
            media_id=self.new_id(),
            part_id=self.new_id(),
            path=f"{path}.{container}",
            size=size,
            duration=minutes * 60_000,
            container=container,
            video_codec=_pick(rng, VIDEO_CODECS),
            audio_codec=_pick(rng, AUDIO_CODECS),
            resolution=label,
            width=width,
            height=height,
            bitrate=size * 8 // (minutes * 60 * 1000),
        )

    def _disk(self, path: str) -> Disk:
        """Return the disk a path lives on."""
        return next(disk for disk in self.disks if path.startswith(disk.path))

    def _store(self, file: MediaFile) -> None:
        """Account for a new file on its disk."""
        self._disk(file.path).media_used += file.size

    def _added_at(self, rng: random.Random) -> int:
        """Return an addition date within the last five years, recent ones likelier."""
        return self.now - int(rng.triangular(0, 5 * 365, 0) * DAY) - rng.randint(0, DAY)

    def _add_movie(self, rng: random.Random, index: int) -> None:
        """Add one movie with its file, Radarr record, plays and maybe a request."""
        key = self.new_id()
        title = self._title(rng)
        year = rng.randint(1970, 2025)
        folder = f"{MOVIE_ROOT}/{title} ({year})"
        file = self._file(rng, f"{folder}/{title} ({year})", rng.randint(80, 170))
        self._store(file)
        added = self._added_at(rng)
        movie = Movie(
            rating_key=key,
            title=title,
            year=year,
            tmdb_id=100_000 + index,
            imdb_id=f"tt{1_000_000 + index:07d}",
            guid=f"plex://movie/{rng.getrandbits(96):024x}",
            added_at=added,
            updated_at=added + rng.randint(0, DAY),
            file=file,
            radarr_id=index + 1 if rng.random() < 0.95 else None,
        )
        if rng.random() < 0.04:
            movie.labels.append("keep")
        self.movies[key] = movie
        self._add_plays(rng, key, None, None, "movie", added, file.duration // 1000)
        self._maybe_request(rng, key, "movie", movie.tmdb_id, None, added, [])

    def _add_show(self, rng: random.Random, index: int, per_season: int) -> None:
        """Add one show with seasons, episode files, Sonarr record, plays, request."""
        key = self.new_id()
        title = self._title(rng)
        year = rng.randint(1990, 2025)
        added = self._added_at(rng)
        show = Show(
            rating_key=key,
            title=title,
            year=year,
            tvdb_id=300_000 + index,
            tmdb_id=500_000 + index,
            imdb_id=f"tt{5_000_000 + index:07d}",
            guid=f"plex://show/{rng.getrandbits(96):024x}",
            added_at=added,
            updated_at=added,
            season_keys=[],
            sonarr_id=index + 1 if rng.random() < 0.95 else None,
        )
        self.shows[key] = show
        first_season = 0 if rng.random() < 0.2 else 1
        for season_index in range(first_season, rng.randint(1, 5) + 1):
            season = Season(self.new_id(), key, season_index, [], added, added)
            show.season_keys.append(season.rating_key)
            self.seasons[season.rating_key] = season
            for episode_index in range(1, per_season + 1):
                self._add_episode(rng, show, season, episode_index, added)
        self._maybe_request(
            rng, key, "tv", show.tmdb_id, show.tvdb_id, added, list(range(1, 3))
        )

    def _add_episode(
        self, rng: random.Random, show: Show, season: Season, index: int, added: int
    ) -> None:
        """Add one episode with its file and plays."""
        code = f"S{season.index:02d}E{index:02d}"
        episode_added = min(added + (season.index * 10 + index) * DAY, self.now - DAY)
        file = self._file(
            rng,
            f"{TV_ROOT}/{show.title}/Season {season.index:02d}/{show.title} - {code}",
            rng.randint(22, 60),
        )
        self._store(file)
        episode = Episode(
            rating_key=self.new_id(),
            show_key=show.rating_key,
            season_key=season.rating_key,
            season_index=season.index,
            index=index,
            title=self._title(rng),
            added_at=episode_added,
            updated_at=episode_added,
            file=file,
            sonarr_id=self.new_id(),
            sonarr_file_id=self.new_id(),
        )
        season.episode_keys.append(episode.rating_key)
        self.episodes[episode.rating_key] = episode
        self._add_plays(
            rng,
            episode.rating_key,
            season.rating_key,
            show.rating_key,
            "episode",
            episode.added_at,
            file.duration // 1000,
        )

    def _add_plays(
        self,
        rng: random.Random,
        key: int,
        parent: int | None,
        grandparent: int | None,
        media_type: str,
        added: int,
        duration: int,
    ) -> None:
        """Give an item a play history: many never watched, some watched often."""
        if rng.random() < 0.45 or added >= self.now - 3600:
            return
        for _ in range(min(int(rng.expovariate(0.6)) + 1, 12)):
            user = rng.choice(self.users)
            started = rng.randint(added, self.now - 3600)
            percent = rng.choice((100, 100, 100, 95, 60, 20))
            played = duration * percent // 100
            play = Play(
                id=len(self.plays) + 1,
                user_id=user.id,
                rating_key=key,
                parent_rating_key=parent,
                grandparent_rating_key=grandparent,
                media_type=media_type,
                started=started,
                stopped=started + played,
                play_duration=played,
                percent_complete=percent,
                watched_status=1 if percent >= 90 else (0.5 if percent >= 50 else 0),
            )
            self.plays.append(play)
            if user.id == 1:
                item = self.movies.get(key) or self.episodes[key]
                item.view_count += 1
                item.last_viewed_at = max(item.last_viewed_at or 0, play.stopped)

    def _maybe_request(
        self,
        rng: random.Random,
        key: int,
        media_type: str,
        tmdb_id: int,
        tvdb_id: int | None,
        added: int,
        seasons: list[int],
    ) -> None:
        """Some items were requested in Overseerr before they were added."""
        if rng.random() >= 0.08:
            return
        created = added - rng.randint(DAY, 30 * DAY)
        status = rng.choices((1, 2, 3, 4, 5), (10, 25, 5, 3, 57))[0]
        self.requests.append(
            MediaRequest(
                id=len(self.requests) + 1,
                media_id=self.new_id(),
                media_type=media_type,
                tmdb_id=tmdb_id,
                tvdb_id=tvdb_id,
                rating_key=key,
                requested_by=rng.choice(self.users[1:]).id,
                status=status,
                media_status=5 if status in {2, 5} else (2 if status == 1 else 1),
                created_at=created,
                updated_at=added if status in {2, 5} else created,
                seasons=seasons,
            )
        )

    # Changes any service can make to the world.

    def delete_file(self, file: MediaFile) -> None:
        """Remove a file from disk; Plex notices at its next scan."""
        if file.exists:
            file.exists = False
            self._disk(file.path).media_used -= file.size
            self.version += 1

    def _playable(self) -> list[Movie | Episode]:
        """Return every movie and episode (the items that have files)."""
        return [*self.movies.values(), *self.episodes.values()]

    def unmount(self, root: str) -> list[MediaFile]:
        """Take a disk away: its files vanish (Plex marks them `deletedAt`), space stays."""
        files = [
            item.file
            for item in self._playable()
            if item.file is not None
            and item.file.exists
            and item.file.path.startswith(root)
        ]
        for file in files:
            file.exists = False
        self.version += 1
        return files

    def mount(self, files: list[MediaFile]) -> None:
        """Bring back what `unmount` took; a scan since dropped their items: list them."""
        back = {id(file) for file in files}
        for file in files:
            file.exists = True
        for item in self._playable():
            if item.file is not None and id(item.file) in back and not item.in_plex:
                item.in_plex = True
                item.updated_at = max(item.updated_at, self.now)
                if isinstance(item, Episode):
                    self.shows[item.show_key].in_plex = True
        self.version += 1

    def scan(self, section_id: int) -> list[int]:
        """Let Plex drop what lost its files; return the rating keys removed."""
        removed: list[int] = []
        if section_id == MOVIE_SECTION:
            for movie in self.movies.values():
                if movie.in_plex and (movie.file is None or not movie.file.exists):
                    movie.in_plex = False
                    removed.append(movie.rating_key)
            if removed:
                self.version += 1
            return removed
        for show in self.shows.values():
            if not show.in_plex:
                continue
            for season_key in list(show.season_keys):
                season = self.seasons[season_key]
                for episode_key in list(season.episode_keys):
                    episode = self.episodes[episode_key]
                    if episode.in_plex and (
                        episode.file is None or not episode.file.exists
                    ):
                        episode.in_plex = False
                        removed.append(episode_key)
            if not any(self.episodes_of(show.rating_key)):
                show.in_plex = False
                removed.append(show.rating_key)
        if removed:
            self.version += 1
        return removed

    def episodes_of(self, show_key: int) -> Iterator[Episode]:
        """Yield a show's episodes that Plex still lists."""
        for season_key in self.shows[show_key].season_keys:
            for episode_key in self.seasons[season_key].episode_keys:
                episode = self.episodes[episode_key]
                if episode.in_plex:
                    yield episode
