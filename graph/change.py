"""Values of changes and what they set in motion: the change or declassification of a source
(D-13, X-17), the change notices it sends to every descendant (D-12, X-13), and the
proposals a holder files with the originator instead of acting alone (D-12, X-7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from graph.errors import InvalidValue
from graph.model import Item, Keypoint
from graph.phrase import Phrase
from graph.propagation import Action


class ChangeKind(Enum):
    CHANGE = "CHANGE"  # level, period or knowledge scope of a source (D-13, X-19)
    KEYPOINT_CHANGE = "KEYPOINT_CHANGE"  # level or period of keypoints (D-16)
    DECLASSIFICATION = "DECLASSIFICATION"  # the whole source
    PARTIAL_DECLASSIFICATION = "PARTIAL_DECLASSIFICATION"  # some keypoints
    EXPIRY = "EXPIRY"  # the period ended

    @property
    def label(self) -> str:
        return _KIND_LABEL[self]


_KIND_LABEL = {
    ChangeKind.CHANGE: "变更",
    ChangeKind.KEYPOINT_CHANGE: "密点变更",
    ChangeKind.DECLASSIFICATION: "解密",
    ChangeKind.PARTIAL_DECLASSIFICATION: "部分解密",
    ChangeKind.EXPIRY: "保密期限届满自行解密",
}


class DeclassificationReason(Enum):
    """Why a secret is declassified before its period ends (X-12), or that it ended (X-11)."""

    SCOPE_RULE_ADJUSTED = "SCOPE_RULE_ADJUSTED"
    CIRCUMSTANCES_CHANGED = "CIRCUMSTANCES_CHANGED"
    PUBLICATION_REQUIRED = "PUBLICATION_REQUIRED"
    PERIOD_EXPIRED = "PERIOD_EXPIRED"

    @property
    def label(self) -> str:
        return _REASON_LABEL[self][0]

    @property
    def article(self) -> str:
        return _REASON_LABEL[self][1]


_REASON_LABEL = {
    DeclassificationReason.SCOPE_RULE_ADJUSTED: (
        "保密法律法规或者保密事项范围调整后，不再属于国家秘密",
        "X-12(1)",
    ),
    DeclassificationReason.CIRCUMSTANCES_CHANGED: (
        "定密时的形势、条件发生变化，公开后不会损害国家安全和利益",
        "X-12(2)",
    ),
    DeclassificationReason.PUBLICATION_REQUIRED: (
        "根据法律、法规和国家有关规定应予公开、需要社会公众广泛知晓或者参与",
        "X-12(2)",
    ),
    DeclassificationReason.PERIOD_EXPIRED: ("保密期限已满、解密时间已到或者解密条件达成", "X-11"),
}


@dataclass(frozen=True)
class Change:
    """A decided change or declassification of one source or of some of its keypoints: the
    triggering change that every notice of its fan-out names. `before` and `after` are the
    source item; the keypoints are those changed, as they were and as they became."""

    id: str
    kind: ChangeKind
    item_id: str
    before: Item
    after: Item
    keypoints_before: tuple[Keypoint, ...]
    keypoints_after: tuple[Keypoint, ...]
    reason: DeclassificationReason | None
    basis: str
    handler_id: str | None
    official_id: str | None
    decided_on: date
    effective_on: date
    recorded_at: datetime
    summary: str
    articles: tuple[str, ...]
    approval_reference: str | None = None
    consulted_organisation_ids: tuple[str, ...] = ()
    record_id: str | None = None
    consultation: str | None = None  # 论证或征求意见情况

    def __post_init__(self) -> None:
        if self.recorded_at.tzinfo is None:
            raise InvalidValue("recordedAt", "记录时间须带时区。")


class NoticeStatus(Enum):
    PENDING = "PENDING"  # sent, not yet acted on
    ACKNOWLEDGED = "ACKNOWLEDGED"  # the holder has seen it
    APPLIED = "APPLIED"  # the item was changed as the notice says (D-13)
    PROPOSED = "PROPOSED"  # answered with a proposal to the originator (D-12)
    SUPERSEDED = "SUPERSEDED"  # a later change recomputed the item (no longer to be applied)

    @property
    def label(self) -> str:
        return _STATUS_LABEL[self]

    @property
    def is_open(self) -> bool:
        """Still to be acted on: a later change supersedes it."""
        return self in (NoticeStatus.PENDING, NoticeStatus.ACKNOWLEDGED)


_STATUS_LABEL = {
    NoticeStatus.PENDING: "待处理",
    NoticeStatus.ACKNOWLEDGED: "已签收",
    NoticeStatus.APPLIED: "已执行",
    NoticeStatus.PROPOSED: "已提出建议",
    NoticeStatus.SUPERSEDED: "已被后续变更取代",
}


@dataclass(frozen=True)
class Notice:
    """A change notice: what the holder of `item_id` must do, from `before` to `after`, because
    of change `change_id` to source `source_id`, along `path`, by `due_on`."""

    id: str
    change_id: str
    source_id: str
    item_id: str
    organisation_id: str
    actions: tuple[Action, ...]
    before: Item
    after: Item
    path: tuple[str, ...]
    articles: tuple[str, ...]
    kept_bases: tuple[str, ...]
    # The notice for people, naming the source and the path by reference (graph.phrase).
    text: Phrase
    due_on: date
    status: NoticeStatus
    created_at: datetime
    updated_at: datetime
    acted_by: str | None = None
    record_id: str | None = None
    superseded_by: str | None = None
    proposal_id: str | None = None


@dataclass(frozen=True)
class Proposal:
    """A proposal to change or declassify `item_id`, filed by a person of another organisation
    with the organisation that decides (D-12, X-7, X-9), in answer to a notice or on its own."""

    id: str
    item_id: str
    proposer_id: str
    organisation_id: str
    text: str
    created_at: datetime
    notice_id: str | None = None
