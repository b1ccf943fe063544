"""The D-21 audit of the graph (graph.audit) for a reader: every item it may read, a page of
items at a time, each with its bases, scope rules, records and open notices."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date

from graph import authority, rules
from graph.access import Actor
from graph.audit import Case, Finding, ItemFile, findings
from graph.change import Notice, NoticeStatus
from graph.model import (
    DecisionRecord,
    Derivation,
    Item,
    ItemKind,
    Keypoint,
    Organisation,
    ScopeRule,
)
from graph.store.base import GraphReader, GraphStore, ItemQuery
from service.usecases import today as today_in_china

OPEN = (NoticeStatus.PENDING, NoticeStatus.ACKNOWLEDGED, NoticeStatus.PROPOSED)
PAGE = 500


@dataclass(frozen=True)
class Audit:
    """The findings, by item then case, and the items they name (to tell which of them the
    reader may know)."""

    findings: list[Finding]
    named: dict[str, Item]


def audit(
    store: GraphStore,
    actor: Actor,
    *,
    organisation_id: str | None = None,
    item_id: str | None = None,
    cases: Iterable[Case] = (),
    on: date | None = None,
    on_progress: Callable[[int, int | None], object] | None = None,
) -> Audit:
    """`on_progress` hears of the items looked at so far, of how many there are (at most:
    those of the organisation, all of which the reader may not read)."""
    day = on or today_in_china()
    wanted = set(cases)

    def work(tx: GraphReader) -> Audit:
        organisations = {o.id: o for o in tx.all_organisations()}
        out: list[Finding] = []
        named: dict[str, Item] = {}
        after: str | None = None
        total = None if on_progress is None else tx.count_items(organisation_id)
        done = 0
        while True:
            query = ItemQuery(
                organisation_id=organisation_id,
                after=after,
                limit=PAGE,
                readable=actor.read_filter(),
            )
            batch = tx.find_items(query)
            page = [i for i in batch if item_id is None or i.id == item_id]
            for file in _files(tx, page, organisations):
                found = [f for f in findings(file, day) if not wanted or f.case in wanted]
                out.extend(found)
                if found:
                    named[file.item.id] = file.item
                    named.update({b.parent.id: b.parent for b in file.bases})
            done += len(batch)
            if on_progress is not None:
                on_progress(done, total)
            if len(batch) < PAGE:
                break
            after = batch[-1].id
        return Audit(out, named)

    return store.read(work)


def _files(
    tx: GraphReader, page: list[Item], organisations: dict[str, Organisation]
) -> list[ItemFile]:
    if not page:
        return []
    ids = [i.id for i in page]
    edges = tx.parents(ids)
    parents = tx.items({e.parent_id for e in edges})
    keypoints: dict[str, Keypoint] = tx.keypoints({k for e in edges for k in e.keypoint_ids})
    rule_ids = tx.scope_rule_links(ids)
    scope_rules = tx.scope_rules({r for _, r in rule_ids})
    records: dict[str, list[DecisionRecord]] = {}
    for record in tx.records_of(ids):
        records.setdefault(record.item_id, []).append(record)
    notices: dict[str, list[Notice]] = {}
    for notice in tx.notices_of(ids, OPEN):
        notices.setdefault(notice.item_id, []).append(notice)
    scopes = [i.scope for i in page] + [p.scope_limit for p in parents.values() if p.scope_limit]
    person_org = {
        p.id: p.organisation_id for p in tx.persons({m for s in scopes for m in s.persons}).values()
    }
    # What each basis becomes by the notice it must still act on (the latest, if several).
    becoming: dict[str, Item] = {}
    for notice in sorted(tx.notices_of(list(parents), OPEN), key=lambda n: n.created_at):
        if notice.status in (NoticeStatus.PENDING, NoticeStatus.ACKNOWLEDGED):
            becoming[notice.item_id] = notice.after
    by_child: dict[str, list[Derivation]] = {}
    for edge in edges:
        by_child.setdefault(edge.child_id, []).append(edge)
    out = []
    for item in page:
        missing: list[str] = []
        bases: list[rules.Basis] = []
        for edge in by_child.get(item.id, []):
            parent = parents.get(edge.parent_id)
            if parent is None:
                missing.append(f"依据事项「{edge.parent_id}」")
                continue
            found = [keypoints[k] for k in edge.keypoint_ids if k in keypoints]
            missing.extend(f"密点「{k}」" for k in edge.keypoint_ids if k not in keypoints)
            bases.append(rules.Basis(parent, edge.case, tuple(found)))
        rules_of = [scope_rules[r] for i, r in rule_ids if i == item.id and r in scope_rules]
        judged = item.kind is ItemKind.DERIVED and not missing

        file = ItemFile(
            item=item,
            responsible=authority.responsible(item, organisations),
            requirement=_required(item, bases, rules_of, organisations, person_org)
            if judged and bases
            else None,
            bases=bases,
            records=records.get(item.id, []),
            open_notices=notices.get(item.id, []),
            person_org=person_org,
            missing=missing,
        )
        if judged and any(b.parent.id in becoming for b in bases):
            settled = [replace(b, parent=becoming.get(b.parent.id, b.parent)) for b in bases]
            file = replace(
                file,
                settled=replace(
                    file,
                    requirement=_required(item, settled, rules_of, organisations, person_org),
                    bases=settled,
                ),
            )
        out.append(file)
    return out


def _required(
    item: Item,
    bases: list[rules.Basis],
    ruled: list[ScopeRule],
    organisations: dict[str, Organisation],
    person_org: dict[str, str],
) -> rules.Requirement:
    return rules.required_classification(
        bases,
        ruled,
        issued_on=item.issued_on,
        organisation=organisations.get(item.organisation_id),
        person_org=person_org,
    )
