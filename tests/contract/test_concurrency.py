"""Two writers adding the same id at the same time (two replicas of the service, say): one
wins, the other is refused with DuplicateId, and the graph holds the node once."""

from __future__ import annotations

import contextlib
import threading

from graph.errors import DuplicateId
from graph.store.base import GraphStore, GraphWriter, ItemQuery
from tests.contract.builders import item, organisation


def test_the_same_id_from_two_writers_at_once_is_written_once(store: GraphStore) -> None:
    store.write(lambda tx: tx.add_organisation(organisation()))
    both_checked = threading.Barrier(2, timeout=2)
    outcomes: list[str] = []

    def writer() -> None:
        def work(tx: GraphWriter) -> None:
            # Let both transactions start before either writes, where the store allows it;
            # a store that serialises writers times the barrier out, which is fine too.
            with contextlib.suppress(threading.BrokenBarrierError):
                both_checked.wait()
            tx.add_item(item("SAME"))

        try:
            store.write(work)
            outcomes.append("written")
        except DuplicateId as error:
            outcomes.append(f"refused {error.kind} {error.id}")

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["refused item SAME", "written"]
    found = store.read(lambda tx: tx.find_items(ItemQuery(limit=10)))
    assert [i.id for i in found] == ["SAME"]
