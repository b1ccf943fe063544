"""Reminders before periods end (X-4, issue 7 point 6) on both stores: grouped by the
organisation that decides, soonest first, only what the reader may read; and the daily digest,
in the log and posted to a real webhook on loopback, with ids and markings but no titles."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from service.composition import open_store
from service.demo import load_demo
from service.reminders import digest
from tests.e2e.conftest import Api, Gql

REMINDERS = """query($days: Int!) { reminders(withinDays: $days) {
  organisationId organisationName count items { id expiry } } }"""
DAY = date(2026, 12, 1)
# The bureau's items still classified (service.demo_inspection): all end within ten years.
BUREAU_CLASSIFIED = 9


def test_reminders_are_grouped_by_who_decides_and_respect_the_scope(demo_gql: Gql) -> None:
    groups = demo_gql(REMINDERS, {"days": 3650}, as_="p-sun-hong")["reminders"]
    by = {g["organisationId"]: [i["id"] for i in g["items"]] for g in groups}
    bureau = by.pop("org-bureau")  # the inspection case's files: 秘密 ends within ten years
    assert by == {"org-city": ["D-CITY-002"], "org-ministry": ["S-2025-003", "S-2022-015"]}
    assert {g["organisationId"]: g["count"] for g in groups} == {
        "org-bureau": BUREAU_CLASSIFIED,
        "org-city": 1,
        "org-ministry": 2,
    }
    assert len(bureau) == BUREAU_CLASSIFIED
    assert bureau[:3] == ["D-BUR-002", "D-BUR-004", "S-BUR-002"]  # soonest: 2033-03-01
    city = demo_gql(REMINDERS, {"days": 3650}, as_="p-chen-jing")["reminders"]
    assert {g["organisationId"]: [i["id"] for i in g["items"]] for g in city} == {
        "org-city": ["D-CITY-002"],
        "org-ministry": ["S-2022-015"],  # the city is in its knowledge scope
    }
    assert demo_gql(REMINDERS, {"days": 30}, as_="p-sun-hong")["reminders"] == []
    assert isinstance(demo_gql, Api)
    bad = demo_gql.post(REMINDERS, {"days": -1}, as_="p-sun-hong")
    assert bad["errors"][0]["extensions"]["field"] == "withinDays"


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Receiver.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_the_daily_digest_is_logged_and_posted_without_titles(
    db_url: str, webhook: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(db_url)
    try:
        load_demo(store)
        with caplog.at_level(logging.INFO, logger="service.reminders"):
            named = digest(store, 3650, webhook, on=DAY)
    finally:
        store.close()
    assert named == 3 + BUREAU_CLASSIFIED
    (body,) = Receiver.received
    assert body["withinDays"] == 3650
    ministry = next(o for o in body["organisations"] if o["organisationId"] == "org-ministry")
    assert ministry["items"] == [
        {"id": "S-2025-003", "marking": "秘密★2030年12月31日", "endsOn": "2030-12-31"},
        {"id": "S-2022-015", "marking": "秘密", "endsOn": "2032-06-15"},
    ]
    text = json.dumps(body, ensure_ascii=False) + caplog.text
    assert "D-CITY-002" in caplog.text
    for title in (
        "某专项工作会议纪要",
        "某专项工作落实情况报告",
        "关于某地区应急物资储备布局的通知",
    ):
        assert title not in text


def test_a_webhook_that_fails_is_logged_and_the_digest_goes_on(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(db_url)
    try:
        load_demo(store)
        with caplog.at_level(logging.INFO, logger="service.reminders"):
            named = digest(store, 3650, "http://127.0.0.1:9/nobody", on=DAY)
            assert named == 3 + BUREAU_CLASSIFIED
    finally:
        store.close()
    assert "未能送达 webhook" in caplog.text
