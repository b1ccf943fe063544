"""Who decides on a classified item: the originator, its successor, the lead of a joint
classification, or a superior (X-7..X-9). Pure functions over organisations by id."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum

from graph.errors import RuleViolation
from graph.model import Item, Organisation


class Ground(Enum):
    """Why an organisation may decide on an item."""

    ORIGINATOR = "ORIGINATOR"  # 原定密机关、单位 (X-7 ¶1), lead of a joint one
    SUCCESSOR = "SUCCESSOR"  # 承担其职能或者合并后的机关、单位 (X-7 ¶2)
    SUPERIOR = "SUPERIOR"  # 上级机关、单位 (X-7 ¶2, X-9)

    @property
    def article(self) -> str:
        return _ARTICLE[self]


_ARTICLE = {Ground.ORIGINATOR: "X-7", Ground.SUCCESSOR: "X-7", Ground.SUPERIOR: "X-9"}


@dataclass(frozen=True)
class Authority:
    organisation_id: str
    ground: Ground


def _chain(start: str, step: Mapping[str, str | None]) -> Iterator[str]:
    """`start`, then each next organisation along `step`, each once (a loop in the data
    ends the walk instead of hanging it)."""
    seen: set[str] = set()
    current: str | None = start
    while current is not None and current not in seen:
        seen.add(current)
        yield current
        current = step.get(current)


def successors(organisation_id: str, organisations: Mapping[str, Organisation]) -> list[str]:
    """`organisation_id`, then each organisation that took over the previous one's functions
    (X-7 ¶2); the last one stands today."""
    step = {id: o.successor_id for id, o in organisations.items()}
    return list(_chain(organisation_id, step))


def responsible(item: Item, organisations: Mapping[str, Organisation]) -> str:
    """The organisation that now decides on `item`: its originator, or, where that was
    dissolved or merged, the last of its successors (X-7 ¶2)."""
    return successors(item.organisation_id, organisations)[-1]


def authority_of(
    organisation_id: str, item: Item, organisations: Mapping[str, Organisation]
) -> Authority | None:
    """On what ground `organisation_id` may change or declassify `item`, or None: then it may
    only propose (X-7 ¶1, X-9 ¶1). `organisations` must hold the chains of successors and
    superiors of the item's originator."""
    deciding = responsible(item, organisations)
    if organisation_id == deciding:
        ground = Ground.ORIGINATOR if deciding == item.organisation_id else Ground.SUCCESSOR
        return Authority(organisation_id, ground)
    superiors = {id: o.superior_id for id, o in organisations.items()}
    for below in (item.organisation_id, deciding):
        if organisation_id in list(_chain(below, superiors))[1:]:
            return Authority(organisation_id, Ground.SUPERIOR)
    return None


def refusal(
    organisation: Organisation, item: Item, organisations: Mapping[str, Organisation]
) -> RuleViolation:
    deciding = organisations.get(responsible(item, organisations))
    name = deciding.name if deciding else responsible(item, organisations)
    return RuleViolation(
        "DECIDING_ORGANISATION",
        f"{organisation.name}不是「{item.id}」的原定密机关、单位，也不是其承继机关或上级机关：由"
        f"{name}负责变更或解密；其他机关、单位可以向其提出建议（X-7, X-8, X-9）。",
        ("X-7", "X-8", "X-9"),
    )


def missing_consultations(item: Item, consulted: frozenset[str]) -> list[str]:
    """The co-classifying organisations of a joint item not yet consulted (X-8, X-21)."""
    return sorted(item.joint_organisation_ids - consulted - {item.organisation_id})
