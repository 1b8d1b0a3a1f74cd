"""The library model and Plex item parsing, without Home Assistant."""

from typing import Any

from custom_components.smartplex.api import PlexItem, PlexSection
from custom_components.smartplex.api.http import parse_int
from custom_components.smartplex.api.plex import parse_item
from custom_components.smartplex.library import LibraryModel

MOVIES = PlexSection(
    id=1, type="movie", title="Movies", uuid="u1", updated_at=0, scanned_at=0
)
SHOWS = PlexSection(
    id=2, type="show", title="TV", uuid="u2", updated_at=0, scanned_at=0
)

RAW_MOVIE: dict[str, Any] = {
    "ratingKey": "1001",
    "key": "/library/metadata/1001",
    "type": "movie",
    "title": "Glass Harbor",
    "year": 2011,
    "addedAt": 1_700_000_000,
    "updatedAt": 1_700_000_500,
    "viewCount": 2,
    "lastViewedAt": 1_700_100_000,
    "Media": [
        {
            "id": 5,
            "bitrate": 8000,
            "videoResolution": "1080",
            "videoCodec": "h264",
            "container": "mkv",
            "Part": [{"id": 6, "size": 4_000_000_000}, {"id": 7, "size": "1000"}],
        },
        {"id": 8, "videoResolution": "4k", "Part": [{"id": 9, "size": 20}]},
    ],
    "Guid": [{"id": "imdb://tt0133093"}, {"id": "tmdb://603"}, {"id": "tvdb://"}],
    "Label": [{"tag": "keep"}],
}


def item(key: int, section: int = 1, kind: str = "movie", **changes: Any) -> PlexItem:
    """Return a plain item for model tests."""
    values: dict[str, Any] = {
        "rating_key": key,
        "section_id": section,
        "type": kind,
        "title": f"Item {key}",
        "year": 2000,
        "added_at": 1,
        "updated_at": key,
        "size": 10,
        "resolution": "1080",
        "video_codec": "hevc",
        "container": "mkv",
        "bitrate": None,
        "tmdb_id": None,
        "tvdb_id": None,
        "imdb_id": None,
        "show_key": None,
        "season_key": None,
        "season_index": None,
        "episode_index": None,
        "view_count": 0,
        "last_viewed_at": None,
        "labels": (),
        "file_missing": False,
    }
    return PlexItem(**(values | changes))


def test_parse_item_sums_every_part_of_every_version() -> None:
    """A movie's size is the sum of all its parts; ids come from the Guid list."""
    parsed = parse_item(RAW_MOVIE, 1)
    assert parsed.rating_key == 1001
    assert parsed.size == 4_000_001_020
    assert (parsed.resolution, parsed.video_codec, parsed.container) == (
        "1080",
        "h264",
        "mkv",
    )
    assert (parsed.tmdb_id, parsed.imdb_id, parsed.tvdb_id) == (603, "tt0133093", None)
    assert parsed.labels == ("keep",)
    assert parsed.view_count == 2
    assert parsed.file_missing is False
    assert parse_item(RAW_MOVIE | {"deletedAt": 1}, 1).file_missing is True


def test_parse_item_without_media() -> None:
    """A show (no Media) parses with size 0 and no quality."""
    parsed = parse_item({"ratingKey": 7, "type": "show", "title": "X"}, 2)
    assert (parsed.size, parsed.resolution, parsed.added_at) == (0, None, 0)


def test_parse_int_is_defensive() -> None:
    """Numbers arrive as ints, strings, floats, empty strings or not at all."""
    assert [parse_int(v) for v in (3, "4", "5.0", 6.7, "", None, "x", True)] == [
        3,
        4,
        5,
        6,
        None,
        None,
        None,
        None,
    ]


def test_model_full_and_incremental_changes() -> None:
    """A full listing replaces a section; upserts move the watermark."""
    model = LibraryModel()
    model.replace_section(MOVIES, [item(1), item(2), item(3)])
    model.replace_section(SHOWS, [item(10, 2, "show"), item(11, 2, "episode")])
    assert model.watermark == 11
    assert model.titles(1) == 3
    assert model.titles(2) == 1
    model.replace_section(MOVIES, [item(1), item(3, size=30)])
    assert sorted(model.items) == [1, 3, 10, 11]
    assert model.upsert([item(4, updated_at=99)]) == 1
    assert model.watermark == 99
    assert model.drop_sections([1]) == [2]
    assert sorted(model.items) == [1, 3, 4]


def test_breakdown_counts_media_not_shows() -> None:
    """Sizes and quality groups count movies and episodes; shows hold no files."""
    model = LibraryModel()
    model.replace_section(
        MOVIES,
        [item(1, size=5), item(2, size=7, resolution="4k", video_codec=None)],
    )
    model.replace_section(SHOWS, [item(10, 2, "show", size=0), item(11, 2, "episode")])
    overall = model.breakdown()
    assert (overall.count, overall.size) == (3, 22)
    assert overall.by_resolution == {"1080": (2, 15), "4k": (1, 7)}
    assert overall.by_codec == {"hevc": (2, 15), "unknown": (1, 7)}
    assert model.breakdown(1).size == 12


def test_snapshot_round_trip() -> None:
    """The stored snapshot rebuilds the same model; other formats are ignored."""
    model = LibraryModel(last_full_sync=5.0)
    model.replace_section(MOVIES, [item(1, labels=("keep",)), item(2)])
    stored = model.as_stored()
    again = LibraryModel.from_stored(stored)
    assert again.items == model.items
    assert again.sections == model.sections
    assert (again.watermark, again.last_full_sync) == (2, 5.0)
    assert LibraryModel.from_stored(None).items == {}
    assert LibraryModel.from_stored(stored | {"format": 99}).items == {}
    assert LibraryModel.from_stored(stored | {"fields": ["x"]}).items == {}
