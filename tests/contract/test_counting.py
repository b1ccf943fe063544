"""How many items a store holds, in all and of one organisation: the total against which a
long walk over them (an export, an audit) shows its progress."""

from __future__ import annotations

from graph.store.base import GraphStore, GraphWriter
from tests.contract.builders import ORG, item, organisation


def test_items_are_counted_in_all_and_by_organisation(store: GraphStore) -> None:
    def fill(tx: GraphWriter) -> None:
        for org in (ORG, "org-a", "org-b", "org-c"):
            tx.add_organisation(organisation(org))
        tx.add_items([item(f"A-{n}", organisation_id="org-a") for n in range(3)])
        tx.add_items([item(f"B-{n}", organisation_id="org-b") for n in range(2)])

    assert store.read(lambda tx: tx.count_items()) == 0
    store.write(fill)
    assert store.read(lambda tx: tx.count_items()) == 5
    assert store.read(lambda tx: tx.count_items("org-a")) == 3
    assert store.read(lambda tx: tx.count_items("org-b")) == 2
    assert store.read(lambda tx: tx.count_items("org-c")) == 0
    assert store.read(lambda tx: tx.count_items("org-none")) == 0
