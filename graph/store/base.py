"""The GraphStore port: the few operations the rest of the service needs.

Work runs inside a transaction through `read` or `write`, the way Neo4j's managed
transactions run: the store calls `work(tx)`, commits when it returns, and rolls back
when it raises, so a refused request writes nothing::

    item = store.read(lambda tx: tx.item("S-1"))
    store.write(lambda tx: tx.add_item(item))

`work` may be called more than once when a store retries a transient failure, so it must
have no effect outside the transaction it is given.

Every store keeps these invariants and refuses a write that would break them with a
LineageError, leaving the graph as it was: ids are unique per kind (DuplicateId); every
reference names an existing node (UnknownId); DERIVED_FROM is acyclic (CycleRefused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, TypeVar

from graph.access import ReadFilter, Token, User
from graph.chain import Head, StoredEvent
from graph.change import Change, Notice, NoticeStatus, Proposal
from graph.grant import Grant, GrantStatus
from graph.lineage import Index, Lineage
from graph.model import (
    Citation,
    DecisionRecord,
    Derivation,
    Item,
    ItemKind,
    ItemStatus,
    Keypoint,
    Level,
    Organisation,
    Person,
    ScopeRule,
)
from graph.store.outbound import DeliveryQuery
from graph.trail import AuditEvent, AuditQuery
from graph.webhook import Delivery, Webhook

T = TypeVar("T")


@dataclass(frozen=True)
class ItemQuery:
    """A filter over items, ordered by id; `after` is the last id of the previous page. With
    `text`, a search: ranked (graph.search), the page `offset` items from the first."""

    organisation_id: str | None = None
    level: Level | None = None
    status: ItemStatus | None = None
    kind: ItemKind | None = None
    after: str | None = None
    limit: int = 50
    # Items whose title, document number or id holds each word of this text (graph.search),
    # ranked rather than in id order, and paged by `offset` rather than by `after`.
    text: str | None = None
    offset: int = 0
    # Only what a reader may read (graph.access); None: every item.
    readable: ReadFilter | None = None


@dataclass(frozen=True)
class ScopeRuleQuery:
    """A filter over scope rules (保密事项范围, D-15), ordered by id; `after` is the last id of
    the previous page. A catalogue may hold thousands of entries, so the store filters them.

    `issuer` is the issuing authority's name as registered, whole; each of `words` must occur
    in the title, the document or the id (Latin letters in any case)."""

    issuer: str | None = None
    level: Level | None = None
    words: tuple[str, ...] = ()
    after: str | None = None
    limit: int = 50


@dataclass(frozen=True)
class NoticeQuery:
    """A filter over notices, ordered by id; `after` is the last id of the previous page, and
    `limit` None means no limit."""

    organisation_id: str | None = None
    item_id: str | None = None
    source_id: str | None = None
    change_id: str | None = None
    statuses: tuple[NoticeStatus, ...] = ()
    after: str | None = None
    limit: int | None = 50


@dataclass(frozen=True)
class ExpiryQuery:
    """Classified items whose period ends on or before `until`, by end date then id; `after`
    is the (end date, id) of the last item of the previous page."""

    until: date
    organisation_id: str | None = None
    after: tuple[date, str] | None = None
    limit: int | None = 50
    readable: ReadFilter | None = None


class GraphReader(Protocol):
    """Reads inside one transaction. Lookups by many ids return only the ids that exist."""

    def organisation(self, id: str) -> Organisation | None: ...

    def organisations(self, ids: Iterable[str]) -> dict[str, Organisation]: ...

    def persons(self, ids: Iterable[str]) -> dict[str, Person]: ...

    def items(self, ids: Iterable[str]) -> dict[str, Item]: ...

    def generations(self) -> dict[str, int]:
        """The generation of each table the store keeps in memory, read from the database
        (a round trip to its server): it moves with every write to the table. What /readyz
        reads, and /metrics shows."""
        ...

    def item_lookup(self, ids: Sequence[str]) -> Mapping[str, Item]:
        """Items to look up by id, holding each of `ids` that exists; it may hold others (a
        store that keeps its items in memory lends them all, read-only, rather than copy a
        hundred thousand for one analysis). Not for iterating."""
        ...

    def find_items(self, query: ItemQuery) -> list[Item]: ...

    def count_found_items(self, query: ItemQuery) -> int:
        """How many items find_items pages through for `query`, its text included (its
        `after`, `offset` and `limit` aside): a connection's totalCount, counted by the store."""
        ...

    def count_items(self, organisation_id: str | None = None) -> int:
        """How many items there are (of one organisation): the total a long walk over them
        shows its progress against."""
        ...

    def keypoints(self, ids: Iterable[str]) -> dict[str, Keypoint]: ...

    def keypoints_defined_by(self, item_id: str) -> list[Keypoint]:
        """The keypoints a source defines, in id order."""
        ...

    def contained_keypoints(self, item_ids: Iterable[str]) -> dict[str, list[str]]:
        """CONTAINS_KEYPOINT: keypoint ids per item, in id order; items with none are absent."""
        ...

    def scope_rules(self, ids: Iterable[str]) -> dict[str, ScopeRule]: ...

    def find_scope_rules(self, query: ScopeRuleQuery) -> list[ScopeRule]:
        """The rules matching `query`, by id, after `query.after`; at most `query.limit`."""
        ...

    def count_scope_rules(self, query: ScopeRuleQuery) -> int:
        """How many rules match `query` on every page (its `after` and `limit` ignored)."""
        ...

    def classified_under(self, item_id: str) -> list[str]:
        """CLASSIFIED_UNDER: the scope rule ids of an item, in id order."""
        ...

    def parents(self, child_ids: Iterable[str]) -> list[Derivation]:
        """DERIVED_FROM edges leaving the given items (their bases), by child then parent id."""
        ...

    def children(self, parent_ids: Iterable[str]) -> list[Derivation]:
        """DERIVED_FROM edges entering the given items, by parent then child id."""
        ...

    def lineage(self, roots: Sequence[str]) -> Lineage:
        """Every DERIVED_FROM edge below `roots` and every basis of every item below them (see
        graph.lineage); it may hold more of the graph. It may be shared with other readers:
        never modify it."""
        ...

    def lineage_index(self, roots: Sequence[str]) -> Index:
        """`lineage(roots)` in arrays, as the fan-out reads it (graph.lineage.Index): where
        the lineage is a large share of the graph, the whole graph's index (graph.index),
        built once per generation of the items and DERIVED_FROM and kept, whose columns hold
        the items' values as this transaction sees them. Shared: never modify it."""
        ...

    def citations(self, item_ids: Iterable[str]) -> list[Citation]:
        """The CITES edges from or to the items (D-14: cited, not a basis), by citing item then
        cited item. Never a DERIVED_FROM edge: no rule or fan-out reads these."""
        ...

    def main_item_of(self, item_id: str) -> str | None:
        """PROCESS_ITEM_OF: the main item a process item was formed for (X-16)."""
        ...

    def process_items_of(self, item_id: str) -> list[str]: ...

    def process_items_for(self, main_ids: Iterable[str]) -> list[tuple[str, str]]:
        """PROCESS_ITEM_OF as (process item id, main item id) for the given main items, sorted
        by main then process item."""
        ...

    def records(self, item_id: str) -> list[DecisionRecord]:
        """The written records of an item, oldest first."""
        ...

    def memo(self, key: str) -> str | None:
        """What the service noted down for itself under `key`, or None: how far an import
        got, the first answer to a request sent with an idempotency key. Never exported."""
        ...

    def memos(self, prefix: str, after: str | None, limit: int) -> list[tuple[str, str]]:
        """Memos as (key, value) whose keys start with `prefix`, by key, after the key
        `after`; at most `limit`."""
        ...

    # Whole-graph reads, for export: small kinds at once, the rest by pages of item ids.

    def all_organisations(self) -> list[Organisation]:
        """Every organisation, by id."""
        ...

    def all_persons(self) -> list[Person]:
        """Every person, by id."""
        ...

    def all_scope_rules(self) -> list[ScopeRule]:
        """Every scope rule, by id."""
        ...

    def keypoints_of(self, item_ids: Iterable[str]) -> list[Keypoint]:
        """The keypoints the given items define, by id."""
        ...

    def scope_rule_links(self, item_ids: Iterable[str]) -> list[tuple[str, str]]:
        """CLASSIFIED_UNDER as (item id, rule id) pairs of the given items, sorted."""
        ...

    def process_links(self, item_ids: Iterable[str]) -> list[tuple[str, str]]:
        """PROCESS_ITEM_OF as (process item id, main item id) of the given items, sorted."""
        ...

    def records_by_id(self, ids: Iterable[str]) -> dict[str, DecisionRecord]:
        """The records with these ids, as far as they exist."""
        ...

    def records_of(self, item_ids: Iterable[str]) -> list[DecisionRecord]:
        """The records of the given items, by item, oldest first."""
        ...

    # Changes, notices and proposals (issue 4).

    def changes(self, ids: Iterable[str]) -> dict[str, Change]: ...

    def changes_of(self, item_ids: Iterable[str]) -> list[Change]:
        """The changes of the given source items, by item, oldest first."""
        ...

    def notices(self, ids: Iterable[str]) -> dict[str, Notice]: ...

    def find_notices(self, query: NoticeQuery) -> list[Notice]: ...

    def count_notices(self, query: NoticeQuery, readable: ReadFilter | None = None) -> int:
        """How many notices find_notices pages through for `query` (its `after` and `limit`
        aside), of those whose item `readable` admits (all when None)."""
        ...

    def notices_of(
        self, item_ids: Iterable[str], statuses: Sequence[NoticeStatus] = ()
    ) -> list[Notice]:
        """The notices sent to the given items, by id; only those in `statuses` if any are
        given."""
        ...

    def notices_created_after(
        self, organisation_id: str | None, after: tuple[datetime, str], limit: int
    ) -> list[Notice]:
        """Notices created after `after` (a creation time and, for the same time, an id), by
        creation time then id: what a live subscriber has not seen yet."""
        ...

    def proposals(self, ids: Iterable[str]) -> dict[str, Proposal]: ...

    def find_proposals(
        self, organisation_id: str | None, item_id: str | None, after: str | None, limit: int
    ) -> list[Proposal]:
        """Proposals filed with an organisation or about an item, by id."""
        ...

    def proposals_of(self, item_ids: Iterable[str]) -> list[Proposal]:
        """The proposals about the given items, by id."""
        ...

    def expiring_items(self, query: ExpiryQuery) -> list[Item]: ...

    def count_expiring_items(self, query: ExpiryQuery) -> int:
        """How many items expiring_items pages through for `query` (its `after` and `limit`
        aside)."""
        ...

    def expiring_keypoints(self, until: date) -> list[Keypoint]:
        """Keypoints not yet declassified whose period ends on or before `until`, by id."""
        ...

    # Users and their tokens (issue 5).

    def users(self, ids: Iterable[str]) -> dict[str, User]: ...

    def all_users(self) -> list[User]:
        """Every user, by id."""
        ...

    def tokens(self, ids: Iterable[str]) -> dict[str, Token]: ...

    def tokens_of(self, user_ids: Iterable[str]) -> list[Token]:
        """The tokens of the given users, by user, then oldest first."""
        ...

    # Requests that widen who may read, and their decisions (graph.grant).

    def grants(self, ids: Iterable[str]) -> dict[str, Grant]: ...

    def find_grants(
        self, statuses: Sequence[GrantStatus] = (), limit: int | None = None
    ) -> list[Grant]:
        """Requests in `statuses` (any when none are given), oldest first (by the time they
        were filed, then id); at most `limit`, None for all."""
        ...

    # Outbound events: webhooks and their deliveries (graph.webhook, service.outbox).

    def webhooks(self, organisation_id: str | None = None) -> list[Webhook]:
        """The endpoints registered, those of one organisation if given, by id."""
        ...

    def deliveries(self, ids: Iterable[str]) -> dict[str, Delivery]: ...

    def find_deliveries(self, query: DeliveryQuery) -> list[Delivery]: ...


class GraphWriter(GraphReader, Protocol):
    def add_organisation(self, organisation: Organisation) -> None: ...

    def add_person(self, person: Person) -> None: ...

    def add_item(self, item: Item) -> None: ...

    def add_items(self, items: Sequence[Item]) -> None:
        """Adds many items at once; the same checks as add_item, for each."""
        ...

    def add_keypoint(self, keypoint: Keypoint) -> None: ...

    def add_keypoints(self, keypoints: Sequence[Keypoint]) -> None: ...

    def add_scope_rule(self, rule: ScopeRule) -> None: ...

    def put_memo(self, key: str, value: str) -> None:
        """Notes `value` under `key` (see `memo`), in place of what was there."""
        ...

    def add_memo(self, key: str, value: str) -> None:
        """Notes `value` under a `key` not taken yet; DuplicateId when it is, even by a
        transaction that commits meanwhile."""
        ...

    def remove_memos(self, keys: Sequence[str]) -> None:
        """Removes the memos under `keys`; a key with none is passed over."""
        ...

    def add_derivations(self, derivations: Sequence[Derivation]) -> None:
        """Adds DERIVED_FROM edges; refuses one that would close a cycle (CycleRefused)."""
        ...

    def add_citations(self, citations: Sequence[Citation]) -> None:
        """Adds CITES edges; DuplicateId("citation") for a pair there already, UnknownId for
        an item or person that is not."""
        ...

    def remove_derivations(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Removes DERIVED_FROM edges given as (child id, parent id): a correction of the
        lineage (service.correction). UnknownId("derivation") for a pair that is not there,
        before anything is removed."""
        ...

    def add_contained_keypoints(self, item_id: str, keypoint_ids: Iterable[str]) -> None: ...

    def remove_containments(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Removes CONTAINS_KEYPOINT pairs (item id, keypoint id); a pair not there is passed
        over."""
        ...

    def add_containments(self, pairs: Sequence[tuple[str, str]]) -> None:
        """CONTAINS_KEYPOINT of many items at once, as (item id, keypoint id) pairs: what an
        import writes. A pair that is there already is kept once."""
        ...

    def add_classified_under(self, item_id: str, rule_ids: Iterable[str]) -> None: ...

    def add_process_item_of(self, item_id: str, main_id: str) -> None: ...

    def add_record(self, record: DecisionRecord) -> None: ...

    def add_records(self, records: Sequence[DecisionRecord]) -> None: ...

    def update_organisation(self, organisation: Organisation) -> None:
        """Replaces an organisation's values (its superior or successor, X-7, X-9)."""
        ...

    def update_items(self, items: Sequence[Item]) -> None:
        """Replaces the status, classification, knowledge scope and scope limit of existing
        items (UnknownId for one that does not exist); their other fields stay as stored."""
        ...

    def update_keypoints(self, keypoints: Sequence[Keypoint]) -> None:
        """Replaces the classification and declassified flag of existing keypoints; their
        other fields stay as stored."""
        ...

    def add_change(self, change: Change) -> None: ...

    def add_notices(self, notices: Sequence[Notice]) -> None: ...

    def add_notice_rows(self, rows: Iterable[tuple[object, ...]]) -> None:
        """Adds notices given as rows (graph.store.codec.NOTICE_COLUMNS, as `notice_fields`
        gives them), checked and written in batches of thousands: a fan-out sends as many
        notices as descendants (issue 24)."""
        ...

    def update_notices(self, notices: Sequence[Notice]) -> None:
        """Replaces the status and the fields of acting on existing notices."""
        ...

    def add_proposal(self, proposal: Proposal) -> None: ...

    def add_user(self, user: User) -> None:
        """Adds a user; its person, if any, must exist, and no other user may act for it."""
        ...

    def update_user(self, user: User) -> None:
        """Replaces the name, roles, supervised organisations and revocation of a user."""
        ...

    def add_token(self, token: Token) -> None: ...

    def update_tokens(self, tokens: Sequence[Token]) -> None:
        """Replaces the revocation and expiry of existing tokens."""
        ...

    def add_grant(self, grant: Grant) -> None:
        """Adds a request; the organisations and the user it names must exist (UnknownId)."""
        ...

    def update_grant(self, grant: Grant) -> None:
        """Replaces the status, decider, decision time and reason of an existing request."""
        ...

    def add_webhook(self, webhook: Webhook) -> None:
        """Adds an endpoint; its organisation must exist (UnknownId)."""
        ...

    def remove_webhook(self, webhook_id: str) -> None:
        """Removes an endpoint and every delivery to it (UnknownId when there is none)."""
        ...

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Queues deliveries to existing endpoints (UnknownId otherwise). One whose id is
        queued already, by this transaction or one committed before, is kept as it is: an
        event offered twice is one delivery per endpoint."""
        ...

    def update_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        """Replaces the state of existing deliveries (graph.store.outbound.DELIVERY_STATE):
        status, attempts, next attempt, lease, last error, time delivered."""
        ...

    def remove_deliveries(self, ids: Sequence[str]) -> None:
        """Removes deliveries; an id with none is passed over."""
        ...


class GraphStore(Protocol):
    def read(self, work: Callable[[GraphReader], T]) -> T: ...

    def write(self, work: Callable[[GraphWriter], T]) -> T: ...

    def append_audit(self, events: Sequence[AuditEvent]) -> None:
        """Appends events to the audit trail in one transaction of their own, never part of a
        graph transaction (a long write must not hold up the trail). Nothing of the store's
        interface alters or deletes an event."""
        ...

    def audit_events(self, query: AuditQuery) -> list[AuditEvent]:
        """Events matching `query`, newest first; `query.item_id` matches an event that showed
        or wrote the item, or whose request named it (`asked`)."""
        ...

    def count_audit_events(self, query: AuditQuery) -> int:
        """How many events audit_events pages through for `query` (its `before` and `limit`
        aside)."""
        ...

    def trail_head(self) -> tuple[Head, int]:
        """The head of the trail's hash chain as the store keeps it (graph.chain), and how
        many events lie outside the chain now (written before it began). Each append links
        its events after the head and moves it, in the same transaction, one writer at a time
        (across processes and replicas too), so the chain never forks."""
        ...

    def trail_page(
        self, after: int, after_id: str | None, through: int, limit: int
    ) -> list[StoredEvent]:
        """Events of the chain by place, then id: those after the place `after` (with
        `after_id`, also those at that place with a greater id), up to the place `through`;
        at most `limit`. Two at one place are both given (one of them was put in)."""
        ...

    def close(self) -> None: ...


class Wrapping:
    """A store over another that changes how it writes (queues events, takes a key) and
    passes everything else through as it is: a subclass overrides `write`."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store

    def read(self, work: Callable[[GraphReader], T]) -> T:
        return self.store.read(work)

    def write(self, work: Callable[[GraphWriter], T]) -> T:
        return self.store.write(work)

    def append_audit(self, events: Sequence[AuditEvent]) -> None:
        self.store.append_audit(events)

    def audit_events(self, query: AuditQuery) -> list[AuditEvent]:
        return self.store.audit_events(query)

    def count_audit_events(self, query: AuditQuery) -> int:
        return self.store.count_audit_events(query)

    def trail_head(self) -> tuple[Head, int]:
        return self.store.trail_head()

    def trail_page(
        self, after: int, after_id: str | None, through: int, limit: int
    ) -> list[StoredEvent]:
        return self.store.trail_page(after, after_id, through, limit)

    def close(self) -> None:
        self.store.close()
