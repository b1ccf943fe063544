"""The counts of an impact analysis over every descendant that would act (issue 23, point 8):
in all and per holding organisation, hidden ones counted as hidden, an item with several
actions in each of them."""

from __future__ import annotations

from graph.propagation import Action
from service.impact import Tally, tally


def test_counts_in_all_and_per_organisation_by_id() -> None:
    overall, by = tally(
        ["org-b", "org-a", "org-b", "org-b"],
        [
            (Action.DECLASSIFY,),
            (Action.CHANGE_LEVEL, Action.CHANGE_PERIOD),
            (Action.REVIEW,),
            (Action.CHANGE_SCOPE, Action.REVIEW),
        ],
        [False, True, False, True],
    )
    assert overall == Tally("", total=4, hidden=2, to_declassify=1, to_change=2, to_review=2)
    assert by == [
        Tally("org-a", total=1, hidden=0, to_declassify=0, to_change=1, to_review=0),
        Tally("org-b", total=3, hidden=2, to_declassify=1, to_change=1, to_review=2),
    ]


def test_nothing_to_count() -> None:
    assert tally([], [], []) == (Tally(""), [])
