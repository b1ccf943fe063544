"""The notices of a committed fan-out, written in bulk as rows (service.notice_rows), are
what the notices built one by one write: every field, every byte (issue 24)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from graph.change import Change, ChangeKind
from graph.lineage import Lineage
from graph.model import Item, Keypoint
from graph.propagation import Action, World, fan_out
from graph.store.codec import (
    NOTICE_COLUMNS,
    NOTICE_STATE,
    _snapshot,
    notice_fields,
    notice_state,
    snapshot_joined,
    snapshot_own,
    snapshot_state,
)
from service.change import SentNotices
from tests.unit.test_propagation import lineages

# Titles with what JSON escapes, quotes, backslashes, control and non-BMP characters.
_TITLES = st.text(alphabet=st.sampled_from('事项"\\\n\t é😀<>'), max_size=6)


@st.composite
def changes(
    draw: st.DrawFn,
) -> tuple[Lineage, World, dict[str, Item], dict[str, Keypoint], Change, date]:
    """A lineage and change of test_propagation, with titles and document numbers drawn,
    sometimes process items reviewed with the source or a descendant (X-16, X-22), and the
    change as decided on some day."""
    lineage, world, changed_items, changed_keypoints = draw(lineages())
    items = {
        id: replace(item, title=draw(_TITLES), document_number=draw(_TITLES), version=1 + n % 3)
        for n, (id, item) in enumerate(world.items.items())
    }
    process_items: dict[str, list[str]] = {}
    names = sorted(items)
    for main in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
        process_items[main] = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    world = replace(world, items=items, process_items=process_items)
    source = items["S"]
    changed_items = {k: replace(v, title=items[k].title) for k, v in changed_items.items()}
    kind = draw(st.sampled_from(list(ChangeKind)))
    on = draw(st.sampled_from([date(2026, 1, 2), date(2030, 12, 31)]))
    change = Change(
        id="C-1",
        kind=kind,
        item_id="S",
        before=source,
        after=changed_items.get("S", source),
        keypoints_before=(),
        keypoints_after=tuple(changed_keypoints.values()),
        reason=None,
        basis="依据",
        handler_id="h",
        official_id="o",
        decided_on=on,
        effective_on=on,
        recorded_at=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
        summary="决定",
        articles=("D-13",),
    )
    due = draw(st.sampled_from([date(2026, 2, 1), date(2031, 1, 30)]))
    return lineage, world, changed_items, changed_keypoints, change, due


@given(changes())
@settings(max_examples=200, deadline=None)
def test_rows_are_the_fields_of_the_notices_built_one_by_one(
    case: tuple[Lineage, World, dict[str, Item], dict[str, Keypoint], Change, date],
) -> None:
    lineage, world, changed_items, changed_keypoints, change, due = case
    impacts = fan_out(
        lineage, world, changed_items=changed_items, changed_keypoints=changed_keypoints
    )
    sent = SentNotices(change, world.items["S"], impacts, due)
    rows = list(sent.rows())
    # Built after the rows: a notice built first would leave its impact built.
    expected = [tuple(notice_fields(notice).values()) for notice in sent]
    assert tuple(notice_fields(sent[0])) == NOTICE_COLUMNS if len(sent) else True
    assert rows == expected
    # Each notice is read with the id it was written with.
    assert [row[0] for row in rows] == [notice.id for notice in sent]


def test_reviews_and_kept_bases_are_among_the_rows_drawn() -> None:
    """The draws reach the texts' every branch: reviews, bases kept, declassifications."""
    seen: set[str] = set()

    @given(changes())
    @settings(max_examples=200, deadline=None, database=None)
    def collect(
        case: tuple[Lineage, World, dict[str, Item], dict[str, Keypoint], Change, date],
    ) -> None:
        lineage, world, changed_items, changed_keypoints, _, _ = case
        impacts = fan_out(
            lineage, world, changed_items=changed_items, changed_keypoints=changed_keypoints
        )
        for row in impacts.rows():
            actions, kept = row[1], row[6]
            if Action.REVIEW in actions:
                seen.add("review")
            elif Action.DECLASSIFY in actions:
                seen.add("declassify")
            elif kept:
                seen.add("kept")

    collect()
    assert seen == {"review", "declassify", "kept"}


@given(changes())
@settings(max_examples=50, deadline=None)
def test_a_snapshot_from_its_runs_is_the_snapshot(
    case: tuple[Lineage, World, dict[str, Item], dict[str, Keypoint], Change, date],
) -> None:
    for item in case[1].items.values():
        joined = snapshot_joined(snapshot_own(item), snapshot_state(item), item.version)
        assert joined == _snapshot(item)


@given(changes())
@settings(max_examples=30, deadline=None)
def test_the_state_of_a_notice_is_its_fields_an_update_replaces(
    case: tuple[Lineage, World, dict[str, Item], dict[str, Keypoint], Change, date],
) -> None:
    lineage, world, changed_items, changed_keypoints, change, due = case
    impacts = fan_out(
        lineage, world, changed_items=changed_items, changed_keypoints=changed_keypoints
    )
    for sent in SentNotices(change, world.items["S"], impacts, due):
        for notice in (sent, replace(sent, superseded_by="C-2", acted_by="P-1")):
            fields = notice_fields(notice)
            assert notice_state(notice) == {k: fields[k] for k in ("id", *NOTICE_STATE)}
