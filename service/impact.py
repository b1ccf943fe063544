"""Impact analysis: what a proposed change or declassification of a source would do to every
descendant, computed exactly as the fan-out will be (graph.propagation), without writing.

The store is read in one transaction: the descendants by frontier expansion, then every
parent of those descendants (bases outside the changed subtree included), their keypoints,
scope rules, organisations and process items.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import networkx as nx

from graph.errors import InvalidValue, RuleViolation, UnknownId
from graph.model import (
    Classification,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    Keypoint,
    KnowledgeScope,
    Level,
    ScopeRule,
)
from graph.propagation import Impact, World, fan_out
from graph.store.base import GraphReader, GraphStore
from graph.traversal import expand
from service.usecases import PeriodSpec, check_keypoint_within, check_original_period

DECLASSIFIED = (ItemStatus.DECLASSIFIED_WORK_SECRET, ItemStatus.DECLASSIFIED_PUBLIC)


@dataclass(frozen=True)
class ProposedChange:
    """A change of a source's level or period, its full declassification, or the
    declassification of some of its keypoints (X-14)."""

    item_id: str
    level: Level | None = None
    period: PeriodSpec | None = None
    declassify: bool = False
    afterwards: ItemStatus = ItemStatus.DECLASSIFIED_WORK_SECRET
    keypoint_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImpactReport:
    before: Item
    after: Item
    keypoints: tuple[Keypoint, ...]
    impacts: list[Impact]


def impact_analysis(store: GraphStore, change: ProposedChange) -> ImpactReport:
    """The dry run of a change: every descendant that would have to act, and how."""

    def work(tx: GraphReader) -> ImpactReport:
        root = _source(tx, change.item_id)
        after, keypoints = _proposed(tx, root, change)
        lineage, world = load_world(tx, [root.id])
        impacts = fan_out(
            lineage,
            world,
            changed_items={root.id: after},
            changed_keypoints={k.id: k for k in keypoints},
        )
        return ImpactReport(root, after, keypoints, impacts)

    return store.read(work)


def _source(tx: GraphReader, item_id: str) -> Item:
    item = tx.items([item_id]).get(item_id)
    if item is None:
        raise UnknownId("item", item_id)
    if item.kind is not ItemKind.SOURCE:
        raise RuleViolation(
            "DERIVED_FOLLOWS_SOURCE",
            f"「{item_id}」是派生事项：其所依据的已定密事项没有变更或解密的，派生国家秘密不得变更或"
            "解密；可以向原定密机关、单位或者其上级机关、单位提出建议（D-12）。",
            ("D-12",),
        )
    if not item.is_classified or item.classification is None:
        raise InvalidValue(
            "itemId", f"「{item_id}」当前为「{item.status.label}」，无可变更的密级。"
        )
    return item


def _proposed(
    tx: GraphReader, root: Item, change: ProposedChange
) -> tuple[Item, tuple[Keypoint, ...]]:
    current = root.classification
    if current is None:  # _source has checked; this keeps the type narrow
        raise InvalidValue("itemId", "该事项没有密级。")
    if change.declassify and change.keypoint_ids:
        return root, _declassified_keypoints(tx, root, change.keypoint_ids)
    if change.keypoint_ids:
        raise InvalidValue("keypointIds", "只有解密时才能指定密点（部分解密，X-14）。")
    if change.declassify:
        if change.level is not None or change.period is not None:
            raise InvalidValue("declassify", "解密时不能同时变更密级或保密期限。")
        if change.afterwards not in DECLASSIFIED:
            raise InvalidValue("afterwards", "解密后应作为工作秘密管理或予以公开（X-25）。")
        return replace(root, status=change.afterwards), ()
    if change.level is None and change.period is None:
        raise InvalidValue("level", "请给出变更后的密级或保密期限，或选择解密。")
    proposed = Classification(
        change.level or current.level,
        change.period.to_period(root.issued_on) if change.period else current.period,
    )
    if proposed == current:
        raise InvalidValue("level", f"拟变更的密级和保密期限与现状「{current.marking}」相同。")
    check_original_period(proposed, root.issued_on)
    for keypoint in tx.keypoints_defined_by(root.id):
        if not keypoint.declassified:
            # A keypoint above the new level or beyond the new period must change first.
            check_keypoint_within(keypoint, proposed, root.issued_on)
    return replace(root, classification=proposed), ()


def _declassified_keypoints(
    tx: GraphReader, root: Item, keypoint_ids: Iterable[str]
) -> tuple[Keypoint, ...]:
    own = {k.id: k for k in tx.keypoints_defined_by(root.id)}
    out = []
    for keypoint_id in dict.fromkeys(keypoint_ids):
        keypoint = own.get(keypoint_id)
        if keypoint is None:
            if tx.keypoints([keypoint_id]):
                raise InvalidValue(
                    "keypointIds", f"密点「{keypoint_id}」不是「{root.id}」所确定的密点。"
                )
            raise UnknownId("keypoint", keypoint_id)
        if keypoint.declassified:
            raise InvalidValue("keypointIds", f"密点「{keypoint_id}」已经解密。")
        out.append(replace(keypoint, declassified=True))
    return tuple(out)


def load_world(tx: GraphReader, roots: list[str]) -> tuple[nx.DiGraph, World]:
    """The lineage below `roots` with every parent of every descendant, and the values the
    fan-out reads; one query per depth for the descendants, then one per kind."""
    edges: dict[tuple[str, str], Derivation] = {}
    seen: set[str] = set()
    for root in roots:
        subgraph = expand(root, tx.children, upstream=False, max_depth=None)
        seen.update(subgraph.depth)
        edges.update({(e.parent_id, e.child_id): e for e in subgraph.edges})
    below = sorted(seen - set(roots))
    for edge in tx.parents(below):
        edges[(edge.parent_id, edge.child_id)] = edge
    lineage = nx.DiGraph()
    lineage.add_nodes_from(roots)
    for (parent, child), edge in edges.items():
        lineage.add_edge(parent, child, case=edge.case, keypoint_ids=edge.keypoint_ids)
    drafts = tx.process_items_for([*roots, *below])
    items = tx.items([*lineage.nodes, *(draft for draft, _ in drafts)])
    keypoint_ids = {k for edge in edges.values() for k in edge.keypoint_ids}
    keypoints = tx.keypoints(keypoint_ids)
    keypoints.update({k.id: k for root in roots for k in tx.keypoints_defined_by(root)})
    links = tx.scope_rule_links(below)
    rules = tx.scope_rules({rule for _, rule in links})
    scope_rules: dict[str, list[ScopeRule]] = {}
    for item_id, rule_id in links:
        scope_rules.setdefault(item_id, []).append(rules[rule_id])
    organisations = tx.organisations({i.organisation_id for i in items.values()})
    persons = _persons(items.values())
    process_items: dict[str, list[str]] = {}
    for draft, main in drafts:
        process_items.setdefault(main, []).append(draft)
    world = World(
        items=items,
        keypoints=keypoints,
        scope_rules=scope_rules,
        organisations=organisations,
        person_org={p.id: p.organisation_id for p in tx.persons(persons).values()},
        process_items=process_items,
    )
    return lineage, world


def _persons(items: Iterable[Item]) -> set[str]:
    scopes: list[KnowledgeScope] = []
    for item in items:
        scopes.append(item.scope)
        if item.scope_limit is not None:
            scopes.append(item.scope_limit)
    return {p for scope in scopes for p in scope.persons}
