"""Small builders for the pure unit tests: items, keypoints, bases and scopes by value.

Nothing here computes an expectation; the tests write their expected values out by hand.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from graph.model import (
    BasisCase,
    Classification,
    Item,
    ItemKind,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
    Level,
    Period,
)
from graph.rules import Basis, Requirement

ORG = "ORG-A"
DEFAULT_SCOPE = KnowledgeScope(persons=frozenset({"p-handler"}))


def scope(
    persons: tuple[str, ...] = (),
    organisations: tuple[str, ...] = (),
) -> KnowledgeScope:
    return KnowledgeScope(frozenset(persons), frozenset(organisations))


def source(
    item_id: str,
    level: Level,
    period: Period,
    *,
    issued_on: date = date(2020, 1, 1),
    scope_limit: KnowledgeScope | None = None,
    organisation_id: str = ORG,
) -> Item:
    """A classified source item (已定密事项) with the given level and period."""
    return Item(
        id=item_id,
        kind=ItemKind.SOURCE,
        title=f"源文件{item_id}",
        document_number=f"{item_id}〔2020〕1号",
        organisation_id=organisation_id,
        issued_on=issued_on,
        status=ItemStatus.CLASSIFIED,
        classification=Classification(level, period),
        scope=DEFAULT_SCOPE,
        scope_limit=scope_limit,
    )


def derived(
    item_id: str,
    classification: Classification | None,
    *,
    issued_on: date,
    scope_limit: KnowledgeScope | None = None,
    organisation_id: str = ORG,
) -> Item:
    """A derived item (派生事项) carrying the classification decided for it."""
    return Item(
        id=item_id,
        kind=ItemKind.DERIVED,
        title=f"派生文件{item_id}",
        document_number=f"{item_id}〔2023〕1号",
        organisation_id=organisation_id,
        issued_on=issued_on,
        status=ItemStatus.CLASSIFIED if classification else ItemStatus.NOT_CLASSIFIED,
        classification=classification,
        scope=DEFAULT_SCOPE,
        scope_limit=scope_limit,
    )


def declassified(item: Item, status: ItemStatus = ItemStatus.DECLASSIFIED_PUBLIC) -> Item:
    """The item after declassification; its old classification stays for the marking (X-23)."""
    return replace(item, status=status)


def keypoint(
    keypoint_id: str,
    item_id: str,
    level: Level,
    period: Period,
    *,
    declassified: bool = False,
) -> Keypoint:
    return Keypoint(
        id=keypoint_id,
        item_id=item_id,
        title=f"密点{keypoint_id}",
        classification=Classification(level, period),
        declassified=declassified,
    )


def basis(parent: Item, case: BasisCase = BasisCase.SUMMARY, *keypoints: Keypoint) -> Basis:
    return Basis(parent, case, tuple(keypoints))


def classified(requirement: Requirement) -> Classification:
    """The requirement's classification, asserting that there is one."""
    assert requirement.classification is not None, requirement.explanation.summary
    return requirement.classification
