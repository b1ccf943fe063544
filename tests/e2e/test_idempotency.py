"""Idempotency keys (issue 9, item 3): a mutation sent again with its `Idempotency-Key` gets
the first answer and writes nothing again; a key is its user's, for one request only, and
is taken only by a request that wrote. On both stores, through the app over HTTP."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from graph.errors import DuplicateId
from graph.store.base import GraphReader, GraphWriter
from graph.store.sqlite import trail_path
from graph.trail import AuditQuery
from service import idempotency
from service.app import create_app
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from tests.e2e.conftest import Api, signed_in
from tests.e2e.lifecycle import DECLASSIFY, deciders

SOURCE = "S-2024-012"
DAY = timedelta(days=1)
OFFICIAL = deciders("org-ministry")["officialId"]


def decision(**overrides: str) -> dict[str, Any]:
    """The request that declassifies the source, as the ministry's handler and official."""
    value = {
        "itemId": SOURCE,
        **deciders("org-ministry"),
        "reason": "CIRCUMSTANCES_CHANGED",
        "basis": "形势、条件发生变化，公开后不会损害国家安全和利益（X-12(二)）。",
        **overrides,
    }
    return {"query": DECLASSIFY, "variables": {"input": value}}


DECISION = decision()


def send(api: Api, body: dict[str, Any], key: str | None, user: str = OFFICIAL) -> Any:
    api.enrol(user)
    headers = {"Authorization": f"Bearer {api.token(user)}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return api.client.post("/graphql", json=body, headers=headers)


def changes(api: Api) -> int:
    return len(api.store.read(lambda tx: tx.changes_of([SOURCE])))


def test_a_declassification_sent_again_with_its_key_gets_the_first_answer(
    demo_client: TestClient,
) -> None:
    api = Api(demo_client)
    first = send(api, DECISION, "decision-1")
    assert first.status_code == 200
    assert first.json()["data"]["declassify"]["__typename"] == "ChangeCommitted"
    again = send(api, DECISION, "decision-1")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert changes(api) == 1, "written once"
    # Sent again without the key, it is a new request, refused: the source is declassified.
    plain = send(api, DECISION, None).json()["data"]["declassify"]
    assert plain["__typename"] != "ChangeCommitted"
    assert changes(api) == 1
    replays = [
        e for e in api.store.audit_events(AuditQuery(limit=50)) if e.detail == "重发：返回首次结果"
    ]
    assert len(replays) == 1
    assert replays[0].action == "mutation declassify"
    assert SOURCE in replays[0].items


def test_a_key_is_for_one_request_only(demo_client: TestClient) -> None:
    api = Api(demo_client)
    assert send(api, DECISION, "decision-2").status_code == 200
    other = decision(basis="另一请求。")
    refused = send(api, other, "decision-2")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert "decision-2" in refused.json()["errors"][0]["message"]


def test_a_refused_request_does_not_take_its_key(demo_client: TestClient) -> None:
    api = Api(demo_client)
    first = send(api, decision(itemId="NO-SUCH-ITEM"), "decision-3")
    assert first.json()["data"]["declassify"]["__typename"] == "NotFound"
    second = send(api, DECISION, "decision-3")
    assert second.json()["data"]["declassify"]["__typename"] == "ChangeCommitted"
    assert changes(api) == 1


def test_keys_are_their_users_own(demo_client: TestClient) -> None:
    """Another user's request with the same key is its own request, not a replay."""
    api = Api(demo_client)
    assert send(api, DECISION, "shared").status_code == 200
    register = {
        "query": 'mutation { registerPerson(input: {id: "p-idem", name: "幂等", '
        'organisationId: "org-test-bureau"}) { __typename } }'
    }
    theirs = send(api, register, "shared", user="tester")
    assert theirs.status_code == 200
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["data"]["registerPerson"]["__typename"] == "RegisterPersonSuccess"


def test_a_key_taken_whose_answer_was_not_kept_is_refused_not_run_again(
    demo_client: TestClient,
) -> None:
    """What a crash between the commit and keeping its answer leaves (written here by hand):
    the key is taken, with no answer. A retry is told so, and nothing runs again."""
    api = Api(demo_client)
    sent = idempotency.fingerprint(
        api.client.build_request("POST", "/graphql", json=DECISION).content
    )
    key = idempotency.memo_key(OFFICIAL, "decision-4")
    taken = idempotency.Kept(sent, datetime.now(UTC))
    api.store.write(lambda tx: tx.add_memo(key, taken.encoded()))
    answer = send(api, DECISION, "decision-4")
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert changes(api) == 0


def test_a_bad_key_is_refused(demo_client: TestClient) -> None:
    api = Api(demo_client)
    for key in ("", "x" * 201, "tab\tkey"):
        answer = send(api, DECISION, key)
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_IDEMPOTENCY_KEY"
    assert changes(api) == 0


def test_a_key_past_its_retention_is_forgotten_and_may_be_used_again(
    demo_client: TestClient,
) -> None:
    """A key kept longer than LINEAGE_IDEMPOTENCY_HOURS (a day here, the default) answers
    nothing: the request sent with it runs as a new one, and takes the key afresh."""
    api = Api(demo_client)
    sent = idempotency.fingerprint(
        api.client.build_request("POST", "/graphql", json=DECISION).content
    )
    key = idempotency.memo_key(OFFICIAL, "old-key")
    old = {"data": {"declassify": {"__typename": "ChangeCommitted", "old": True}}}
    long_ago = idempotency.Kept(sent, datetime.now(UTC) - DAY - timedelta(minutes=1), old)
    api.store.write(lambda tx: tx.add_memo(key, long_ago.encoded()))

    answer = send(api, DECISION, "old-key")

    assert answer.status_code == 200
    assert "idempotent-replayed" not in answer.headers
    assert answer.json()["data"]["declassify"]["__typename"] == "ChangeCommitted"
    assert changes(api) == 1
    again = send(api, DECISION, "old-key")
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == answer.json()


def test_the_purge_removes_the_keys_past_their_retention_only(demo_client: TestClient) -> None:
    api = Api(demo_client)
    now = datetime.now(UTC)
    ages = {"fresh": timedelta(hours=23), "stale": timedelta(hours=25), "older": 30 * DAY}
    kept = {
        idempotency.memo_key(OFFICIAL, name): idempotency.Kept("x", now - age, {"data": {}})
        for name, age in ages.items()
    }

    def take(tx: GraphWriter) -> None:
        for key, value in kept.items():
            tx.add_memo(key, value.encoded())

    api.store.write(take)
    # Another memo than a key (an import's progress) is never a key's to remove.
    api.store.write(lambda tx: tx.put_memo("import", "progress"))

    assert idempotency.purge(api.store, DAY, now) == 2

    def held(tx: GraphReader) -> list[str]:
        return [k for k, _ in tx.memos(idempotency.PREFIX, None, 100)]

    assert api.store.read(held) == [idempotency.memo_key(OFFICIAL, "fresh")]
    assert api.store.read(lambda tx: tx.memo("import")) == "progress"
    assert idempotency.purge(api.store, DAY, now) == 0


def test_two_requests_racing_with_one_key_cannot_both_write(demo_client: TestClient) -> None:
    """The key is taken in the transaction of the first write: a second request that took
    the same key meanwhile is refused by the store (DuplicateId), its writes rolled back."""
    api = Api(demo_client)
    first = idempotency.Claiming(api.store, OFFICIAL, "race", "a", DAY)
    second = idempotency.Claiming(api.store, OFFICIAL, "race", "a", DAY)
    first.write(lambda tx: tx.put_memo("written-by-first", "1"))
    with pytest.raises(DuplicateId, match="race"):
        second.write(lambda tx: tx.put_memo("written-by-second", "2"))
    assert api.store.read(lambda tx: tx.memo("written-by-second")) is None
    assert first.claimed
    assert not second.claimed


def test_a_replay_whose_reading_cannot_be_recorded_is_not_given(tmp_path: Path) -> None:
    """The first answer is kept; then the trail is broken by hand (its table renamed by
    another program): the replay, which would show the content again, is refused whole."""
    db_url = f"sqlite:///{tmp_path / 'lineage.db'}"
    store = open_store(db_url)
    load_demo(store)
    store.close()
    with TestClient(create_app(Settings(store=db_url, daily_expiry=False))) as client:
        api = Api(signed_in(client))
        first = send(api, DECISION, "decision-5")
        assert first.json()["data"]["declassify"]["__typename"] == "ChangeCommitted"
        with sqlite3.connect(trail_path(tmp_path / "lineage.db")) as broken:
            broken.execute("ALTER TABLE audit_events RENAME TO gone")
        again = send(api, DECISION, "decision-5").json()
        assert again["data"] is None
        assert "审计记录无法写入" in again["errors"][0]["message"]
        assert SOURCE not in str(again)
