"""Per-request context: the store, and DataLoaders that batch lookups of many nodes into one
store read (a lineage of hundreds of nodes asks for their keypoints in one query)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader

from graph.model import Derivation, Keypoint
from graph.store.base import GraphReader, GraphStore
from graph.store.deadline import StoreTimeout, deadline

T = TypeVar("T")


@dataclass
class Context:
    store: GraphStore
    poll_seconds: float = 1.0  # how often a live subscription looks for new notices
    # Seconds a call to the store may take in a query and in a mutation (a large fan-out
    # writes one notice per descendant); None: no limit. `timeout` is the one in force,
    # chosen by `OperationTimeout` once the operation is known.
    query_timeout: float | None = None
    mutation_timeout: float | None = None
    timeout: float | None = field(init=False, default=None)
    keypoints_of: DataLoader[str, list[Keypoint]] = field(init=False)
    bases_of: DataLoader[str, list[Derivation]] = field(init=False)

    def __post_init__(self) -> None:
        self.timeout = self.query_timeout
        self.keypoints_of = DataLoader(load_fn=self._load_keypoints)
        self.bases_of = DataLoader(load_fn=self._load_bases)

    async def read(self, work: Callable[[GraphReader], T]) -> T:
        """Runs a read transaction off the event loop: the store's drivers block."""
        return await self.call(lambda store: store.read(work))

    async def call(self, function: Callable[..., T], *args: object) -> T:
        """Runs `function(store, *args)` off the event loop, within the request's time: past
        it the client gets a clear error, and the store rolls back the transaction, however
        far it got (graph.store.deadline)."""
        with deadline(self.timeout):  # the worker thread inherits it
            work = run_in_threadpool(function, self.store, *args)
            try:
                return await asyncio.wait_for(work, self.timeout)
            except (TimeoutError, StoreTimeout) as error:
                raise GraphQLError(StoreTimeout(self.timeout or 0).args[0]) from error

    def for_operation(self, mutation: bool) -> None:
        self.timeout = self.mutation_timeout if mutation else self.query_timeout

    async def _load_keypoints(self, item_ids: list[str]) -> Sequence[list[Keypoint]]:
        def work(tx: GraphReader) -> list[list[Keypoint]]:
            contained = tx.contained_keypoints(item_ids)
            found = tx.keypoints(k for ids in contained.values() for k in ids)
            return [[found[k] for k in contained.get(i, [])] for i in item_ids]

        return await self.read(work)

    async def _load_bases(self, item_ids: list[str]) -> Sequence[list[Derivation]]:
        def work(tx: GraphReader) -> list[list[Derivation]]:
            by_child: dict[str, list[Derivation]] = {i: [] for i in item_ids}
            for edge in tx.parents(item_ids):
                by_child[edge.child_id].append(edge)
            return [by_child[i] for i in item_ids]

        return await self.read(work)
