"""Concurrency (issue 9, item 2): conflicting writes sent at the same moment by many clients
to a real server (the console script) on each store are serialised or refused with a clear,
typed answer, and nothing is written twice: eight declassifications of one source commit
once; eight applications of one notice apply it once, with one record; eight changes made on
the same version of a source commit once, and the other seven get a Conflict (optimistic
concurrency, tests/e2e/test_versions.py). Derives racing a declassification of their source
lose no notice.

A request sent without an expected version gets no Conflict here: on a Bolt server that lets
writers run side by side (ArcadeDB), one overtaken by another's commit runs again and is
answered on what that one wrote, as on a store where writers wait their turn."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from graph.access import SYSTEM
from graph.change import NoticeStatus
from graph.model import RecordKind
from graph.store.base import NoticeQuery
from service.accounts import issue_token
from service.change import OPEN
from service.composition import open_store
from service.demo import DECIDERS, load_demo
from service.findings import audit
from tests.e2e.lifecycle import APPLY, CHANGE, DECLASSIFY, DERIVE
from tests.e2e.test_crash import Served

CLIENTS = 8
SOURCE = "S-2024-012"
PROBLEMS = {"InvalidInput", "NotFound", "AlreadyExists", "RuleViolation", "AccessDenied"}


@pytest.fixture
def demo_url(db_url: str) -> str:
    store = open_store(db_url)
    try:
        load_demo(store)
    finally:
        store.close()
    return db_url


def token(url: str, person: str) -> str:
    store = open_store(url)
    try:
        return issue_token(store, person, revoke_others=False).bearer
    finally:
        store.close()


def at_once(server: Served, bearer: str, query: str, variables: dict[str, Any]) -> list[str]:
    """The result type each of CLIENTS identical requests got, sent together."""
    start = threading.Barrier(CLIENTS, timeout=30)
    results: list[str] = []

    def one() -> None:
        start.wait()
        data = server.gql(bearer, query, variables)
        (result,) = data.values()
        results.append(result["__typename"])

    threads = [threading.Thread(target=one) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == CLIENTS, "a request got no GraphQL answer"
    return results


def declassification() -> dict[str, Any]:
    handler, official = DECIDERS["org-ministry"]
    return {
        "input": {
            "itemId": SOURCE,
            "handlerId": handler,
            "officialId": official,
            "reason": "CIRCUMSTANCES_CHANGED",
            "basis": "形势、条件发生变化，公开后不会损害国家安全和利益（X-12(二)）。",
        }
    }


def test_one_source_declassified_by_eight_clients_at_once_commits_once(
    demo_url: str, tmp_path: Path
) -> None:
    bearer = token(demo_url, DECIDERS["org-ministry"][1])
    server = Served(demo_url, tmp_path / "server.log")
    try:
        results = at_once(server, bearer, DECLASSIFY, declassification())
    finally:
        server.stop()
    assert results.count("ChangeCommitted") == 1, results
    assert set(results) - {"ChangeCommitted"} <= PROBLEMS, results
    store = open_store(demo_url)
    try:
        assert len(store.read(lambda tx: tx.changes_of([SOURCE]))) == 1
        notices = store.read(lambda tx: tx.find_notices(NoticeQuery(source_id=SOURCE, limit=None)))
        assert len({n.item_id for n in notices}) == len(notices), "one notice an item"
    finally:
        store.close()


def test_eight_changes_made_on_one_version_of_a_source_commit_once(
    demo_url: str, tmp_path: Path
) -> None:
    handler, official = DECIDERS["org-ministry"]
    value = {
        "itemId": SOURCE,
        "handlerId": handler,
        "officialId": official,
        "basis": "经审核，提高密级（D-13）。",
        "level": "TOP_SECRET",
        "expectedVersion": 1,
    }
    server = Served(demo_url, tmp_path / "server.log")
    try:
        results = at_once(server, token(demo_url, official), CHANGE, {"input": value})
    finally:
        server.stop()
    assert sorted(results) == ["ChangeCommitted"] + ["Conflict"] * (CLIENTS - 1), results
    store = open_store(demo_url)
    try:
        assert len(store.read(lambda tx: tx.changes_of([SOURCE]))) == 1
        assert store.read(lambda tx: tx.items([SOURCE]))[SOURCE].version == 2
    finally:
        store.close()


def test_one_notice_applied_by_eight_clients_at_once_is_applied_once(
    demo_url: str, tmp_path: Path
) -> None:
    server = Served(demo_url, tmp_path / "server.log")
    try:
        official = token(demo_url, DECIDERS["org-ministry"][1])
        committed = server.gql(official, DECLASSIFY, declassification())["declassify"]
        assert committed["__typename"] == "ChangeCommitted", committed
        store = open_store(demo_url)
        try:
            notice = store.read(
                lambda tx: tx.find_notices(NoticeQuery(source_id=SOURCE, limit=None))
            )[0]
            handler, holder = DECIDERS[notice.organisation_id]
        finally:
            store.close()
        variables = {"input": {"noticeId": notice.id, "handlerId": handler}}
        results = at_once(server, token(demo_url, holder), APPLY, variables)
    finally:
        server.stop()
    assert results.count("ApplyNoticeSuccess") == 1, results
    assert set(results) - {"ApplyNoticeSuccess"} <= PROBLEMS, results
    store = open_store(demo_url)
    try:
        after = store.read(lambda tx: tx.notices([notice.id]))[notice.id]
        assert after.status is NoticeStatus.APPLIED
        records = store.read(lambda tx: tx.records(notice.item_id))
        applied = [
            r
            for r in records
            if r.kind in (RecordKind.CHANGE, RecordKind.DECLASSIFICATION)
            and notice.id in r.summary.words
        ]
        assert len(applied) == 1, [r.summary for r in applied]
    finally:
        store.close()


def test_derives_racing_a_declassification_of_their_source_lose_no_notice(
    demo_url: str, tmp_path: Path
) -> None:
    """Four items derived from the source while it is declassified: each was derived either
    before the change (and has its notice) or after it (and its classification follows the
    declassified source); the audit finds nothing the rules and notices do not account for
    (D-13, D-21)."""
    handler, official = DECIDERS["org-ministry"]
    bearer = token(demo_url, official)
    server = Served(demo_url, tmp_path / "server.log")
    start = threading.Barrier(5, timeout=30)
    results: list[dict[str, Any]] = []

    def send(query: str, variables: dict[str, Any]) -> None:
        start.wait()
        (result,) = server.gql(bearer, query, variables).values()
        results.append(result)

    def derived(n: int) -> dict[str, Any]:
        return {
            "input": {
                "title": f"竞争派生事项 {n}",
                "documentNumber": f"某部〔2026〕竞{n}号",
                "organisationId": "org-ministry",
                "issuedOn": "2026-06-01",
                "scope": {"organisations": ["org-ministry"]},
                "handlerId": handler,
                "officialId": official,
                "bases": [{"parentId": SOURCE, "case": "SUMMARY"}],
            }
        }

    try:
        threads = [threading.Thread(target=send, args=(DECLASSIFY, declassification()))]
        threads += [threading.Thread(target=send, args=(DERIVE, derived(n))) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        server.stop()
    kinds = sorted(r["__typename"] for r in results)
    assert "ChangeCommitted" in kinds, results
    assert set(kinds) <= {"ChangeCommitted", "DeriveItemSuccess", *PROBLEMS}, results
    store = open_store(demo_url)
    try:
        made = [r["item"]["id"] for r in results if r["__typename"] == "DeriveItemSuccess"]
        present = store.read(lambda tx: tx.items(made))
        assert present, "no derive went through"
        open_for = {n.item_id for n in store.read(lambda tx: tx.notices_of(made, OPEN))}
        for item_id in present:
            found = audit(store, SYSTEM, item_id=item_id).findings
            assert not found or item_id in open_for, [(f.case, f.explanation) for f in found]
    finally:
        store.close()
