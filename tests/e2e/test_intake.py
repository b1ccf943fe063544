"""The intake endpoint for document systems (issue 22, point 6), against a real uvicorn server
on a real SQLite store with the demo data: a system registered by the operator signs its
requests as Standard Webhooks do; a signed derivation goes through deriveItem's use case as
the system's user (the city's official 杨磊); a retry gets the first answer, another body
under the same document id 409; a bad signature or a stale timestamp 401; a basis that does
not exist answers exactly as one the user may not read (D-10); every call is in the audit
trail."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import uvicorn
from typer.testing import CliRunner

from graph.store.base import ItemQuery
from graph.store.outbound import DeliveryQuery
from graph.trail import AuditQuery, Outcome
from graph.webhook import EventType
from service.app import create_app
from service.cli import app as cli
from service.composition import open_store
from service.config import Settings
from service.intake import secret_bytes, signature
from service.webhooks import add_webhook, remove_webhook
from tests.e2e.test_server import free_port, wait_until_up

SYSTEM_ID = "oa"
USER = "p-yang-lei"  # 杨磊, the city's classification official


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, bytes, str]]:
    """The demo store, the system `oa` acting as 杨磊, a server on a free port: its base URL,
    the system's key and the store's URL."""
    url = f"sqlite:///{tmp_path_factory.mktemp('intake') / 'lineage.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["demo", "--store", url]).exit_code == 0
    added = runner.invoke(cli, ["intake", "add", SYSTEM_ID, "--user", USER, "--store", url])
    assert added.exit_code == 0, added.output
    secret = added.output.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    listed = runner.invoke(cli, ["intake", "list", "--store", url])
    assert f"{SYSTEM_ID}  用户 {USER}" in listed.output
    assert secret not in listed.output
    port = free_port()
    settings = Settings(store=url, daily_expiry=False)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz")
    yield base, secret_bytes(secret), url
    server.should_exit = True
    thread.join(timeout=10)


def _request(document_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "documentId": document_id,
        "title": "某市征地工作督查通报",
        "documentNumber": f"某市发改〔2025〕{document_id[-4:]}号",
        "organisationId": "org-city",
        "issuedOn": "2025-06-01",
        "handlerId": "p-chen-jing",
        # The city's rules, named as its OA knows it: by document number, and the keypoint by
        # its title.
        "bases": [{"documentNumber": "某市发改〔2024〕57号", "case": "INVOLVES_KEYPOINT"}],
        "keypoints": ["工程选址坐标"],
        "scope": {"persons": ["p-chen-jing", "p-yang-lei"]},
    }
    body.update(changes)
    return body


def _send(
    base: str,
    key: bytes,
    body: dict[str, Any] | bytes,
    *,
    sent_at: int | None = None,
    sign_with: bytes | None = None,
    system: str = SYSTEM_ID,
) -> httpx2.Response:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    message_id = f"msg_{uuid.uuid4().hex}"
    stamp = str(int(time.time()) if sent_at is None else sent_at)
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": stamp,
        "webhook-signature": signature(sign_with or key, message_id, stamp, data),
    }
    return httpx2.post(f"{base}/intake/{system}/derivations", content=data, headers=headers)


def _by_number(number: str) -> dict[str, str]:
    return {"documentNumber": number, "case": "SUMMARY"}


def _numbered(url: str, number: str) -> list[str]:
    store = open_store(url)
    try:
        found = store.read(lambda tx: tx.find_items(ItemQuery(text=number, limit=50)))
    finally:
        store.close()
    return [i.id for i in found if i.document_number == number]


def _trail(url: str) -> list[Any]:
    store = open_store(url)
    try:
        events = store.audit_events(AuditQuery(limit=500))
    finally:
        store.close()
    return [e for e in events if e.action.startswith("intake ")]


def test_a_signed_derivation_is_decided_by_the_rules_and_a_retry_gets_the_first_answer(
    served: tuple[str, bytes, str],
) -> None:
    base, key, url = served
    body = _request("OA-2025-0001")
    first = _send(base, key, body)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["documentId"] == "OA-2025-0001"
    assert answer["itemId"].startswith("D-")
    # The keypoint's term, from its source's date: 机密★20年 until 2044-03-01 (D-8, D-9).
    assert answer["marking"] == "机密★20年"
    assert answer["expiry"] == "2044-03-01"
    assert "D-11" in answer["articles"]
    assert "工程选址坐标" in answer["explanation"]
    assert "idempotent-replayed" not in first.headers

    again = _send(base, key, body)  # a new message id and timestamp, the same document
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == answer
    assert _numbered(url, body["documentNumber"]) == [answer["itemId"]]

    store = open_store(url)
    try:
        item = store.read(lambda tx: tx.items([answer["itemId"]]))[answer["itemId"]]
        (record,) = store.read(lambda tx: tx.records(item.id))
    finally:
        store.close()
    assert record.official_id == USER  # the system's user decided (D-11)
    assert record.handler_id == "p-chen-jing"
    events = [e for e in _trail(url) if answer["itemId"] in e.items]
    assert len(events) == 2
    assert {e.user_id for e in events} == {USER}
    assert all(e.outcome is Outcome.OK for e in events)
    assert any("重发" in e.detail for e in events)


def test_another_body_under_the_same_document_id_is_refused_with_409(
    served: tuple[str, bytes, str],
) -> None:
    base, key, url = served
    assert _send(base, key, _request("OA-2025-0002")).status_code == 201
    other = _send(base, key, _request("OA-2025-0002", title="另一份文件"))
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["title"] == "DOCUMENT_ID_REUSED"
    assert len(_numbered(url, _request("OA-2025-0002")["documentNumber"])) == 1


@pytest.mark.parametrize(
    ("how", "code"),
    [
        ("wrong key", "BAD_SIGNATURE"),
        ("body changed", "BAD_SIGNATURE"),
        ("unknown system", "BAD_SIGNATURE"),
        ("an hour old", "STALE_TIMESTAMP"),
        ("an hour ahead", "STALE_TIMESTAMP"),
        ("unsigned", "UNSIGNED"),
    ],
)
def test_a_request_not_signed_now_by_the_system_is_refused_and_writes_nothing(
    served: tuple[str, bytes, str], how: str, code: str
) -> None:
    base, key, url = served
    document = f"OA-2025-1{len(how):03d}"
    body = _request(document)
    data = json.dumps(body, ensure_ascii=False).encode()
    before = len(_trail(url))
    if how == "wrong key":
        response = _send(base, key, data, sign_with=b"x" * 32)
    elif how == "body changed":
        message_id, stamp = "msg_1", str(int(time.time()))
        headers = {
            "webhook-id": message_id,
            "webhook-timestamp": stamp,
            "webhook-signature": signature(key, message_id, stamp, data),
        }
        tampered = data.replace(b"p-chen-jing", b"p-zhao-min")
        response = httpx2.post(
            f"{base}/intake/{SYSTEM_ID}/derivations", content=tampered, headers=headers
        )
    elif how == "unknown system":
        response = _send(base, key, data, system="erp")
    elif how == "an hour old":
        response = _send(base, key, data, sent_at=int(time.time()) - 3600)
    elif how == "an hour ahead":
        response = _send(base, key, data, sent_at=int(time.time()) + 3600)
    else:
        response = httpx2.post(f"{base}/intake/{SYSTEM_ID}/derivations", content=data)
    assert response.status_code == 401, response.text
    assert response.json()["title"] == code
    assert response.json()["status"] == 401
    assert _numbered(url, body["documentNumber"]) == []
    (recorded,) = _trail(url)[: len(_trail(url)) - before]
    assert recorded.outcome is Outcome.UNAUTHENTICATED
    assert recorded.detail == code


def test_a_basis_that_does_not_exist_answers_as_one_the_user_may_not_read(
    served: tuple[str, bytes, str],
) -> None:
    base, key, url = served
    # 某部密〔2023〕7号 (S-2023-007) exists, but only three persons of the ministry read it.
    hidden_by_number = _send(
        base,
        key,
        _request(
            "OA-2025-0003", bases=[{"documentNumber": "某部密〔2023〕7号", "case": "SUMMARY"}]
        ),
    )
    missing_by_number = _send(
        base,
        key,
        _request(
            "OA-2025-0004", bases=[{"documentNumber": "某部密〔2099〕7号", "case": "SUMMARY"}]
        ),
    )
    hidden_by_id = _send(
        base, key, _request("OA-2025-0005", bases=[{"itemId": "S-2023-007", "case": "SUMMARY"}])
    )
    missing_by_id = _send(
        base, key, _request("OA-2025-0006", bases=[{"itemId": "S-2099-007", "case": "SUMMARY"}])
    )
    for response in (hidden_by_number, missing_by_number, hidden_by_id, missing_by_id):
        assert response.status_code == 422, response.text
        assert response.json()["title"] == "NOT_FOUND"

    def without_name(response: httpx2.Response, name: str) -> dict[str, Any]:
        value = dict(response.json())
        value["detail"] = value["detail"].replace(name, "…")
        value["id"] = value["id"].replace(name, "…")
        return value

    assert without_name(hidden_by_number, "某部密〔2023〕7号") == without_name(
        missing_by_number, "某部密〔2099〕7号"
    )
    assert without_name(hidden_by_id, "S-2023-007") == without_name(missing_by_id, "S-2099-007")
    assert "D-10" in hidden_by_id.json()["detail"]
    # A probe leaves its trace: the ids it named, as the system's user.
    (probe,) = [e for e in _trail(url) if "S-2023-007" in e.asked]
    assert probe.user_id == USER
    assert probe.outcome is Outcome.REFUSED
    assert probe.items == ()


def test_a_rule_refuses_with_its_article_and_the_document_id_stays_free(
    served: tuple[str, bytes, str],
) -> None:
    base, key, url = served
    too_low = _send(base, key, _request("OA-2025-0007", level="CONFIDENTIAL"))
    assert too_low.status_code == 422
    problem = too_low.json()
    assert problem["title"] == "RULE_VIOLATION"
    assert problem["rule"] == "DERIVED_LEVEL"
    assert "D-8" in problem["articles"]
    assert problem["type"] == "urn:lineage:problem:rule-violation"
    no_case = _send(
        base,
        key,
        _request("OA-2025-0007", bases=[{"documentNumber": "某市发改〔2024〕57号"}], keypoints=[]),
    )
    assert no_case.json()["rule"] == "BASIS_CASE"
    assert no_case.json()["articles"] == ["D-7"]
    malformed = _send(base, key, _request("OA-2025-0007", issuedOn="下个月"))
    assert malformed.status_code == 422
    assert malformed.json()["field"] == "issuedOn"
    # Refused, it took nothing: mended, the same document id is accepted.
    mended = _send(base, key, _request("OA-2025-0007"))
    assert mended.status_code == 201, mended.text
    refusals = [e for e in _trail(url) if e.outcome is Outcome.REFUSED]
    assert {"DERIVED_LEVEL", "BASIS_CASE", "INVALID_INPUT"} <= {e.detail for e in refusals}


def test_a_removed_system_is_refused_at_once(served: tuple[str, bytes, str]) -> None:
    base, _, url = served
    runner = CliRunner()
    added = runner.invoke(cli, ["intake", "add", "archive", "--user", USER, "--store", url])
    archive = secret_bytes(added.output.strip().splitlines()[-1])
    assert _send(base, archive, _request("OA-2025-0008"), system="archive").status_code == 201
    removed = runner.invoke(cli, ["intake", "remove", "archive", "--store", url])
    assert removed.exit_code == 0, removed.output
    after = _send(base, archive, _request("OA-2025-0009"), system="archive")
    assert after.status_code == 401
    assert after.json()["title"] == "BAD_SIGNATURE"


def test_a_derivation_sent_in_is_a_decision_the_organisations_webhooks_are_sent(
    served: tuple[str, bytes, str],
) -> None:
    """Written through the outbox as the API writes (service.outbox): the record of the
    decision is queued for the city's webhook in the transaction that wrote it (the city is
    in the document's knowledge scope: a webhook reads as its organisation)."""
    base, key, url = served
    store = open_store(url)
    try:
        # Nobody listens on the discard port: the delivery stays queued for its next attempt.
        hook = add_webhook(
            store, "org-city", "http://127.0.0.1:9/", frozenset({EventType.DECISION_RECORDED})
        )
    finally:
        store.close()
    scope = {"persons": ["p-chen-jing", "p-yang-lei"], "organisations": ["org-city"]}
    sent = _send(base, key, _request("OA-2025-0900", scope=scope))
    assert sent.status_code == 201, sent.text
    item_id = sent.json()["itemId"]
    store = open_store(url)
    try:
        queued = store.read(
            lambda tx: tx.find_deliveries(DeliveryQuery(webhook_id=hook.id, limit=50))
        )
        remove_webhook(store, hook.id)
    finally:
        store.close()
    assert [d.event_type for d in queued] == [EventType.DECISION_RECORDED]
    assert item_id in queued[0].payload
    assert "某市征地工作督查通报" not in queued[0].payload  # references, never the title
