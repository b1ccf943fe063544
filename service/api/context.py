"""Per-request context: the store, who is asking (the actor and what it may see), and
DataLoaders that batch lookups of many nodes into one store read (a lineage of hundreds of
nodes asks for their keypoints in one query)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader

from graph.access import Actor
from graph.errors import LineageError, StoreUnavailable
from graph.model import BasisCitation, Derivation, Item, Keypoint
from graph.phrase import Names, Phrase
from graph.store.base import GraphReader, GraphStore
from graph.store.deadline import StoreTimeout, deadline
from graph.trail import AuditEvent, Outcome
from service import metrics, outage
from service.auditing import AuditLog, event
from service.redaction import Mode, Redactor, wanted
from service.session import Session

# Until a request is authenticated it acts as no one: it may read and do nothing.
ANONYMOUS = Actor(user_id="anonymous", name="未认证")

T = TypeVar("T")


@dataclass
class Context:
    store: GraphStore
    actor: Actor = ANONYMOUS
    audit: AuditLog | None = None
    redaction: Mode = Mode.PLACEHOLDER
    redaction_key: bytes = b""
    address: str = ""  # where the request came from, for the audit trail
    poll_seconds: float = 1.0  # how often a live subscription looks for new notices
    # Seconds a call to the store may take in a query and in a mutation (a large fan-out
    # writes one notice per descendant); None: no limit. `timeout` is the one in force,
    # chosen by `OperationTimeout` once the operation is known.
    query_timeout: float | None = None
    mutation_timeout: float | None = None
    timeout: float | None = field(init=False, default=None)
    keypoints_of: DataLoader[str, list[Keypoint]] = field(init=False)
    bases_of: DataLoader[str, list[Derivation]] = field(init=False)
    items: DataLoader[str, Item | None] = field(init=False)
    keypoints: DataLoader[str, Keypoint | None] = field(init=False)
    redactor: Redactor = field(init=False)
    # Expected refusals met while resolving (rule or kind names), for the audit trail.
    refusals: list[LineageError] = field(init=False, default_factory=list)
    # For a WebSocket: the connection_init payload, where a browser puts its token.
    # (It and the upgrade's Authorization header hold a credential: never in a repr or a log.)
    connection_params: object = field(default=None, repr=False)
    upgrade_authorization: str | None = field(default=None, repr=False)
    # For a WebSocket: its credential, checked again while it is open (service.session).
    session: Session | None = field(default=None, repr=False)
    # What the request asks, e.g. "query lineage,item", for the audit trail.
    operation: str = field(init=False, default="")
    # The ids it names (service.api.asked), for the audit trail.
    asked: list[str] = field(init=False, default_factory=list)
    # The store out of reach, once the request met it so: nothing more of it runs, and it is
    # answered 503 (service.outage).
    unavailable: StoreUnavailable | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.timeout = self.query_timeout
        self.keypoints_of = DataLoader(load_fn=self._load_keypoints)
        self.bases_of = DataLoader(load_fn=self._load_bases)
        self.items = DataLoader(load_fn=self._load_items)
        self.keypoints = DataLoader(load_fn=self._load_keypoints_by_id)
        self.redactor = Redactor(self.actor, self.redaction, self.redaction_key)

    def act_as(self, actor: Actor) -> None:
        """The actor is known only after authentication (for a WebSocket, at connection_init)."""
        self.actor = actor
        self.redactor = Redactor(actor, self.redaction, self.redaction_key)

    async def audit_read(self, action: str, items: list[str]) -> None:
        """Records a read of item content outside a request's own event (a subscription)."""
        if self.audit is not None:
            await self.audit.record(
                event(self.actor, action, Outcome.OK, items=items, address=self.address)
            )

    async def audit_events(self, *events: AuditEvent) -> None:
        """Records events of the request beyond its own (the steps of a grant); the answer
        waits for them, as for the request's."""
        if self.audit is not None:
            await self.audit.record(*events)

    async def audit_refusal(self, action: str, outcome: Outcome, detail: str) -> None:
        if self.audit is not None:
            await self.audit.record(
                event(self.actor, action, outcome, detail=detail, address=self.address)
            )

    async def read(self, work: Callable[[GraphReader], T]) -> T:
        """Runs a read transaction off the event loop: the store's drivers block."""
        return await self.call(lambda store: store.read(work))

    async def call(self, function: Callable[..., T], *args: object) -> T:
        """Runs `function(store, *args)` off the event loop, within the request's time: past
        it the client gets a clear error, and the store rolls back the transaction, however
        far it got (graph.store.deadline). With the store out of reach, the request stops
        there (service.outage)."""
        if self.unavailable is not None:
            raise outage.graphql_error(self.unavailable)
        with deadline(self.timeout):  # the worker thread inherits it
            work = run_in_threadpool(function, self.store, *args)
            try:
                with metrics.STORE.time():
                    return await asyncio.wait_for(work, self.timeout)
            except (TimeoutError, StoreTimeout) as error:
                raise GraphQLError(StoreTimeout(self.timeout or 0).args[0]) from error
            except StoreUnavailable as error:
                self.unavailable = error
                raise outage.graphql_error(error) from error
            except LineageError as error:
                self.refusals.append(error)
                raise

    def for_operation(self, mutation: bool) -> None:
        self.timeout = self.mutation_timeout if mutation else self.query_timeout

    async def _load_keypoints(self, item_ids: list[str]) -> Sequence[list[Keypoint]]:
        def work(tx: GraphReader) -> list[list[Keypoint]]:
            contained = tx.contained_keypoints(item_ids)
            found = tx.keypoints(k for ids in contained.values() for k in ids)
            return [[found[k] for k in contained.get(i, [])] for i in item_ids]

        return await self.read(work)

    async def names(
        self,
        phrases: Iterable[Phrase] = (),
        items: Iterable[str] = (),
        keypoints: Iterable[str] = (),
        citations: Iterable[BasisCitation] = (),
    ) -> Names:
        """What rendering these for the reader needs (service.redaction.names_in), through
        this request's loaders."""
        item_ids, keypoint_ids = wanted(phrases, items, keypoints, citations)
        wanted_keypoints = sorted(keypoint_ids)
        found_keypoints = await self.keypoints.load_many(wanted_keypoints)
        by_id = {k.id: k for k in found_keypoints if k is not None}
        item_ids.update(k.item_id for k in by_id.values())
        wanted_items = sorted(item_ids)
        found_items = await self.items.load_many(wanted_items)
        return Names({i.id: i for i in found_items if i is not None}, by_id)

    async def _load_keypoints_by_id(self, ids: list[str]) -> Sequence[Keypoint | None]:
        found = await self.read(lambda tx: tx.keypoints(ids))
        return [found.get(i) for i in ids]

    async def _load_items(self, ids: list[str]) -> Sequence[Item | None]:
        found = await self.read(lambda tx: tx.items(ids))
        return [found.get(i) for i in ids]

    async def _load_bases(self, item_ids: list[str]) -> Sequence[list[Derivation]]:
        def work(tx: GraphReader) -> list[list[Derivation]]:
            by_child: dict[str, list[Derivation]] = {i: [] for i in item_ids}
            for edge in tx.parents(item_ids):
                by_child[edge.child_id].append(edge)
            return [by_child[i] for i in item_ids]

        return await self.read(work)
