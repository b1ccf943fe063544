"""Reviews that keep a decision as it was: 维持原定密决定 (X-16, X-17). A review that changes
or declassifies is a committed change (service.change); one that keeps the decision writes
only its record, of kind REVIEW, with the 依据和理由 and 论证或征求意见情况 its 审核表 prints
(X-20, X-21). Several items reviewed together with one outcome share one reasoning, as form
(二) does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from graph.access import Actor
from graph.errors import InvalidValue, RuleViolation, UnknownId
from graph.model import DecisionRecord, Item, RecordKind, Unmarked, check_id, check_text
from graph.phrase import Phrase
from graph.store.base import GraphStore, GraphWriter
from service.change import decision_authority, optional_text
from service.permissions import deciding_official, readable_items, require_handler
from service.usecases import check_decision_makers, new_id, now, require_version, today

MAX_ITEMS = 200  # one form (二) is a page or a few, not a register


@dataclass(frozen=True)
class MaintainDecision:
    """The handler proposed and the official decided to keep these items as they are."""

    item_ids: tuple[str, ...]
    handler_id: str
    reasoning: str  # 依据和理由, e.g. 保密期限尚未届满，仍需保密 (审核表(一)填表说明6)
    official_id: str | None = None  # the actor itself
    consultation: str | None = None  # 论证或征求意见情况
    decided_on: date | None = None
    # The versions of items the review was made on, by item id; an item left out is
    # reviewed as it stands.
    expected_versions: Mapping[str, int] = field(default_factory=dict)


def record_review(
    store: GraphStore, command: MaintainDecision, actor: Actor
) -> list[DecisionRecord]:
    """Records that each item keeps its level, period and scope, in one transaction; refused
    with the article it breaks, writing nothing."""
    official_id = deciding_official(actor, command.official_id)
    ids = [check_id(i, "itemIds") for i in command.item_ids]
    if not ids:
        raise InvalidValue("itemIds", "请指明审核的事项。")
    if len(ids) > MAX_ITEMS:
        raise InvalidValue("itemIds", f"一次最多审核 {MAX_ITEMS} 项。")
    if len(set(ids)) != len(ids):
        raise InvalidValue("itemIds", "同一事项重复出现。")
    if unknown := sorted(set(command.expected_versions) - set(ids)):
        raise InvalidValue("expectedVersions", f"「{unknown[0]}」不在审核的事项之中。")
    reasoning = check_text(command.reasoning, "reasoning", limit=2000)
    consultation = optional_text(command.consultation, "consultation", limit=2000)
    on = today()
    decided_on = command.decided_on or on
    if decided_on > on:
        raise InvalidValue("decidedOn", "审核日期不能晚于今天。")

    def work(tx: GraphWriter) -> list[DecisionRecord]:
        items = readable_items(tx, actor, ids)
        official = tx.persons([official_id]).get(official_id)
        if official is None:
            raise UnknownId("person", official_id)
        deciding = check_decision_makers(
            tx, official.organisation_id, command.handler_id, official_id
        )
        require_handler(tx, actor, command.handler_id)
        records = []
        recorded_at = now()
        for id in ids:
            item = items[id]
            require_version(item, command.expected_versions.get(id))
            _check_maintainable(item, decided_on)
            grant = decision_authority(tx, deciding, item)
            records.append(
                DecisionRecord(
                    id=new_id("R"),
                    item_id=id,
                    kind=RecordKind.REVIEW,
                    handler_id=command.handler_id,
                    official_id=official_id,
                    decided_on=decided_on,
                    recorded_at=recorded_at,
                    status=item.status,
                    classification=item.classification,
                    scope=item.scope,
                    bases=(),
                    summary=Phrase.of(
                        f"审核：维持原定密决定（{item.marking}）。依据和理由：{reasoning}"
                    ),
                    articles=tuple(dict.fromkeys(("X-16", "X-17", grant.ground.article))),
                    effective_on=decided_on,
                    reasoning=reasoning,
                    consultation=consultation,
                )
            )
        # A review is a decision on each item, though it keeps it as it is.
        tx.update_items([items[id].decided() for id in ids])
        tx.add_records(records)
        return records

    return store.write(work)


def _check_maintainable(item: Item, on: date) -> None:
    current = item.classification
    if not item.is_classified or current is None:
        raise RuleViolation(
            "NOT_CLASSIFIED",
            f"「{item.id}」已不是国家秘密（{item.status.label}），没有可维持的定密决定（X-16）。",
            ("X-16",),
        )
    if on < item.issued_on:
        raise InvalidValue("decidedOn", f"审核日期不能早于「{item.id}」的制发日期。")
    if isinstance(current.period, Unmarked):
        raise RuleViolation(
            "PERIOD_UNMARKED",
            f"「{item.id}」原定密时只确定了密级，没有确定保密期限：审核时应当明确新的保密期限，"
            "以变更作出，不能维持原定密决定（X-19；国家秘密审核表(一)填表说明4）。",
            ("X-19",),
        )
    expiry = current.expiry
    if expiry is not None and expiry <= on:
        raise RuleViolation(
            "PERIOD_ENDED",
            f"「{item.id}」的保密期限（{current.marking}）已于{expiry.isoformat()}届满：届满即自行"
            "解密，需要继续保密的应当延长保密期限，以变更作出（X-11, X-19）。",
            ("X-11", "X-19"),
        )
