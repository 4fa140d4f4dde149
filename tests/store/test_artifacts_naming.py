"""Names made into paths (`conveyor.store.artifacts.naming`): one segment per name, never
one that leaves its folder, never one that two names share, never one too long."""

import re
from pathlib import Path

import pytest

from conveyor.store.artifacts import ArtifactStore, naming

LONG = "x" * 1000
HOSTILE = [
    "",
    ".",
    "..",
    "...",
    ".hidden",
    "/",
    "/abs/olute",
    "a/../../x",
    "../../../../escaped",
    "back\\slash",
    "名前 with spaces ☃",
    "e\u0301 and \u00e9",  # the same letter decomposed and composed
    "\x00",
    "%",
    "%00",
    "%2E.",
    "~",
    "a~b",
    "a%7Eb",
    "for-loop-2[3]",
    "\ud800",  # a lone surrogate (JSON allows it)
    LONG,
    LONG + "y",
    "é" * 300,
    "%" * 300,
]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_segment_is_one_plain_name_within_the_limit(name):
    segment = naming.segment(name)
    assert segment and "/" not in segment and "\\" not in segment and "\x00" not in segment
    assert segment not in {".", ".."} and not segment.startswith(".")
    assert segment.isascii() and len(segment) <= naming.MAX_SEGMENT
    # A name cut short never ends in the middle of an escape.
    assert not re.search(r"%(?![0-9A-F]{2})", segment.partition("~")[0]) or segment == "%"


def test_readable_names_stay_as_they_are():
    for name in ["train", "for-loop-2", "model_v1.2", "Output"]:
        assert naming.segment(name) == name
    assert naming.segment("for-loop-2[3]") == "for-loop-2%5B3%5D"
    assert naming.segment("a b") == "a%20b"


def test_no_two_names_share_a_segment():
    names = [*HOSTILE, naming.segment(LONG), naming.segment(LONG + "y")]
    segments = [naming.segment(name) for name in names]
    assert len(set(segments)) == len(set(names))


def test_a_name_cut_short_cannot_be_taken_by_a_name_that_reads_like_it():
    cut = naming.segment(LONG)
    assert len(cut) == naming.MAX_SEGMENT and "~" in cut
    assert naming.segment(cut) != cut  # a name spelt like a cut segment has its ~ encoded
    assert naming.segment("") != naming.segment("\x00")


def test_artifact_segments_follow_the_same_rule():
    assert naming.segments(("p", "run-1", "loop[0]/fit", "model")) == [
        "p",
        "run-1",
        "loop%5B0%5D",
        "fit",
        "model",
    ]
    assert naming.segments(("p", LONG)) == ["p", naming.segment(LONG)]
    with pytest.raises(ValueError, match="empty path segments"):
        naming.segments(("p", "a//b"))


def test_an_artifact_with_a_very_long_name_is_published(tmp_path):
    store = ArtifactStore.open(tmp_path / "artifacts", local_dir=tmp_path)
    uri = store.uri_for("p" * 300, "run", "t" * 300 + "/" + "名" * 200, "model")
    staging = store.staging_path(uri)
    staging.write_text("bytes")
    store.publish(staging, uri)
    assert store.is_complete(uri) and Path(uri).read_text() == "bytes"
    assert Path(uri).is_relative_to(tmp_path / "artifacts")


def test_inside_joins_segments_under_the_root(tmp_path):
    for name in HOSTILE:
        path = naming.inside(tmp_path, "tasks", name)
        assert path.parent == tmp_path / "tasks"
        assert path.resolve().is_relative_to(tmp_path.resolve())
    assert naming.inside(tmp_path, "a/../../x", "..") == tmp_path / "a%2F..%2F..%2Fx" / "%2E."


def test_inside_refuses_a_link_that_leads_out_of_the_root(tmp_path):
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    (root / "tasks").mkdir(parents=True)
    elsewhere.mkdir()
    (root / "tasks" / "planted").symlink_to(elsewhere)
    with pytest.raises(ValueError, match="outside"):
        naming.inside(root, "tasks", "planted")
    linked = tmp_path / "linked-root"
    linked.symlink_to(root)  # a root reached through a link is fine
    assert naming.inside(linked, "tasks", "t") == linked / "tasks" / "t"
