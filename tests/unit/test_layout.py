"""resizer.layout: the destination's keys, built and read back in one place.

The property: over adversarial source keys (extensions, none, double extensions,
``.``/``..`` segments, ``manifests/...``, keys naming rendition folders), building is
injective (parse(build(x)) == x, which is a left inverse) and no rendition key is a
manifest key.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resizer import layout
from resizer.config import Settings, parse_renditions
from resizer.errors import ConfigurationError, KeyTooLongError, UnreachableKeyError
from resizer.layout import RenditionKey

_PIECES = [
    "a",
    "b",
    "shop/b",
    "/",
    ".",
    "..",
    "./",
    "../",
    ".jpg",
    ".webp",
    ".avif",
    ".json",
    ".JPG",
    "manifests",
    "manifests/",
    "_hero/",
    "hero/",
    "hero.webp/",
    "_",
    "%2e",
    " ",
    "é",
    "\n",
]
SOURCE_KEYS = st.one_of(
    st.lists(st.sampled_from(_PIECES), max_size=8).map("".join),
    st.text(max_size=30),
)
NAMES = st.one_of(
    st.sampled_from(["hero", "hero.webp", "a.jpg", "thumbnails", "x-1", "manifests2", "9"]),
    st.from_regex(layout.RENDITION_NAME, fullmatch=True).filter(layout.is_rendition_name),
)
EXTENSIONS = st.sampled_from(["", ".jpg", ".png", ".webp", ".gif", ".avif", ".json", ".x1"])
PLACES = st.builds(RenditionKey, SOURCE_KEYS, NAMES, EXTENSIONS)


@settings(max_examples=500)
@given(PLACES)
def test_parse_inverts_build(place: RenditionKey) -> None:
    key = layout.key_of(place)
    assert layout.parse(key) == place
    assert layout.manifest_source(key) is None  # never a manifest's key


@settings(max_examples=500)
@given(PLACES, PLACES)
def test_two_renditions_never_share_a_key(one: RenditionKey, other: RenditionKey) -> None:
    assert (layout.key_of(one) == layout.key_of(other)) == (one == other)


@settings(max_examples=300)
@given(SOURCE_KEYS, SOURCE_KEYS)
def test_manifest_keys_are_their_own(source: str, other: str) -> None:
    key = layout.manifest_key(source)
    assert layout.manifest_source(key) == source
    assert layout.parse(key) is None
    assert (key == layout.manifest_key(other)) == (source == other)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # issue 22 item 1: each pair shared one object in the seed's layout.
        (("shop/b.jpg", "hero", ".webp"), ("shop/b.jpg.webp", "hero", "")),
        (("a.jpg", "hero", ".webp"), ("a.jpg.webp", "hero", "")),
        (("p.jpg", "hero", ".jpg"), ("p.jpg.jpg", "hero", "")),
        (("shop/b", "hero", ".jpg"), ("shop/b.jpg", "hero", "")),
    ],
)
def test_the_seed_collisions_are_apart(
    first: tuple[str, str, str], second: tuple[str, str, str]
) -> None:
    one, other = RenditionKey(*first), RenditionKey(*second)
    legacy = [f"{p.rendition}/{p.source_key}{p.extension}" for p in (one, other)]
    assert legacy[0] == legacy[1]  # the seed's <name>/<key><ext>
    assert layout.key_of(one) != layout.key_of(other)


def test_the_layout_as_documented() -> None:
    assert layout.rendition_key("shop/b.jpg", "hero") == "hero/shop/b.jpg"
    assert layout.rendition_key("shop/b.jpg", "hero", ".webp") == "_hero/shop/b.jpg.webp"
    assert layout.manifest_key("shop/b.jpg") == "manifests/shop/b.jpg.json"


@pytest.mark.parametrize(
    "key",
    ["manifests/a.jpg.json", "no-folder.jpg", "_/a.webp", "_hero/noext", "-x/a.jpg", "/a.jpg"],
)
def test_keys_the_layout_never_writes_parse_to_none(key: str) -> None:
    assert layout.parse(key) is None


def test_legacy_further_formats_are_read_back() -> None:
    assert layout.legacy_further("hero/a.jpg.webp") == RenditionKey("a.jpg", "hero", ".webp")
    assert layout.legacy_further("hero/a") is None
    assert layout.legacy_further("_hero/a.jpg.webp") is None


@pytest.mark.parametrize("name", ["_hero", "manifests", "hero/x", "", ".hero"])
def test_names_the_layout_reserves_are_refused_by_the_config(name: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_renditions(f"{name}=100x100")
    with pytest.raises(ValueError, match="not a rendition name"):
        layout.rendition_key("a.jpg", name)


def test_a_name_like_a_format_folder_is_fine() -> None:
    (rendition,) = parse_renditions("hero.webp=100x100")
    assert layout.parse(layout.rendition_key("a", rendition.name)) == RenditionKey("a", "hero.webp")


@pytest.mark.parametrize(
    "key", ["x/../b.jpg", "./a.jpg", "a/./b.jpg", "..", "a/..", "../a.jpg", "a/../../b.jpg"]
)
def test_dot_segments_are_refused_permanently(key: str) -> None:
    with pytest.raises(UnreachableKeyError, match="path segment") as raised:
        layout.check_source_key(Settings(), key)
    assert raised.value.permanent
    assert key in raised.value.reason


@pytest.mark.parametrize("key", ["a..b.jpg", ".hidden.jpg", "a/.b/c.jpg", "a/b..", "%2e%2e/b.jpg"])
def test_dots_inside_a_segment_are_fine(key: str) -> None:
    layout.check_source_key(Settings(), key)


def test_the_longest_key_decides_the_length_limit() -> None:
    name = "n" * 20  # its further format's key is longer than the manifest's
    settings_ = Settings(renditions=parse_renditions(f"{name}=10x10:format=jpeg+avif"))
    longest = layout.MAX_KEY_BYTES - len(f"_{name}/.avif")
    layout.check_source_key(settings_, "k" * longest)
    with pytest.raises(KeyTooLongError, match="by 1 bytes"):
        layout.check_source_key(settings_, "k" * (longest + 1))


def test_the_extensions_resizer_writes_are_the_engines_output_extensions() -> None:
    from resizer.imaging import _output  # the one table of formats

    outputs = (_output.JPEG, _output.PNG, _output.WEBP, _output.GIF, _output.AVIF)
    assert layout._written_extensions() == {o.extension for o in outputs}
    assert all(layout.EXTENSION.fullmatch(o.extension) for o in outputs)
