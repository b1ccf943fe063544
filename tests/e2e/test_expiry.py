"""Expiry on both stores (X-11, X-4): `lineage expire` declassifies what has ended, as of its
end date, and fans out; a second run writes nothing; items due for review, soonest first; an
item's classification on a past date; and the daily run at start-up."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient
from typer.testing import CliRunner

from service.app import create_app
from service.cli import app as cli
from service.composition import open_store
from service.config import Settings
from service.expiry import expire
from service.transfer import export_graph
from service.usecases import today
from tests.e2e.conftest import Gql, signed_in
from tests.e2e.lifecycle import (
    APPLY,
    ITEM,
    committed,
    declassify,
    derive,
    item,
    notice_pages,
    register_source,
)

LINEAGE = Path(sys.executable).with_name("lineage")

WORLD = """
mutation {
  a: registerOrganisation(input: {id: "org-a", name: "甲部", authority: TOP_SECRET}) {
    __typename
  }
  b: registerOrganisation(input: {id: "org-b", name: "乙局"}) { __typename }
  ha: registerPerson(input: {id: "h-a", name: "承办甲", organisationId: "org-a"}) { __typename }
  oa: registerPerson(input: {id: "o-a", name: "责任甲", organisationId: "org-a"}) { __typename }
  hb: registerPerson(input: {id: "h-b", name: "承办乙", organisationId: "org-b"}) { __typename }
  ob: registerPerson(input: {id: "o-b", name: "责任乙", organisationId: "org-b"}) { __typename }
}
"""

DUE = """
query($days: Int!, $organisation: ID, $first: Int!, $after: String) {
  dueForReview(withinDays: $days, organisationId: $organisation, first: $first, after: $after) {
    __typename
    ... on ItemConnection { edges { node { id expiry } } pageInfo { hasNextPage endCursor } }
    ... on InvalidInput { message field }
  }
}
"""

A = {"handlerId": "h-a", "officialId": "o-a"}
B = {"handlerId": "h-b", "officialId": "o-b"}


def world(gql: Gql) -> None:
    assert {v["__typename"] for v in gql(WORLD).values()} == {
        "RegisterOrganisationSuccess",
        "RegisterPersonSuccess",
    }


def source(gql: Gql, item_id: str, issued_on: str, period: dict[str, Any], **fields: Any) -> None:
    register_source(
        gql,
        id=item_id,
        organisationId="org-a",
        issuedOn=issued_on,
        period=period,
        scope={"organisations": ["org-a", "org-b"]},
        **A,
        **fields,
    )


def derived(gql: Gql, item_id: str, issued_on: str, bases: list[Any], **fields: Any) -> str:
    result = derive(
        gql,
        id=item_id,
        organisationId="org-b",
        issuedOn=issued_on,
        bases=bases,
        scope={"organisations": ["org-b"]},
        **B,
        **fields,
    )
    expiry: str = result["item"]["expiry"]
    return expiry


def years(n: int) -> dict[str, Any]:
    return {"kind": "YEARS", "years": n}


def until(day: str) -> dict[str, Any]:
    return {"kind": "UNTIL_DATE", "until": day}


def counts(db_url: str) -> Counter[str]:
    store = open_store(db_url)
    try:
        return export_graph(store, lambda line: None) - Counter(header=1)
    finally:
        store.close()


def run_expire(db_url: str, as_of: str) -> subprocess.CompletedProcess[str]:
    """`lineage expire` as an operator (or cron) runs it."""
    return subprocess.run(
        [str(LINEAGE), "expire", "--store", db_url, "--as-of", as_of],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def open_notices(gql: Gql, item_id: str) -> list[dict[str, Any]]:
    statuses = ["PENDING", "ACKNOWLEDGED", "PROPOSED"]
    pages = notice_pages(gql, {"itemId": item_id, "statuses": statuses}, first=10)
    return [n for nodes, _ in pages for n in nodes]


def expired_world(gql: Gql) -> None:
    world(gql)
    # Ended on 2010-01-01, never run: still marked classified.
    source(gql, "S-OLD", "2000-01-01", years(10))
    assert derived(gql, "D-OLD", "2001-01-01", [{"parentId": "S-OLD", "case": "SUMMARY"}]) == (
        "2010-01-01"
    )


def test_expire_declassifies_as_of_the_end_date_and_fans_out_once_x11(
    gql: Gql, db_url: str
) -> None:
    expired_world(gql)
    # A source whose cheaper keypoint ended on 2015-01-01 (five years of 秘密), the rest runs on.
    source(
        gql,
        "S-KP",
        "2010-01-01",
        years(20),
        keypoints=[
            {"id": "S-KP.K1", "title": "选址", "level": "SECRET", "period": years(20)},
            {"id": "S-KP.K2", "title": "投资", "level": "CONFIDENTIAL", "period": years(5)},
        ],
    )
    keypoint = {"parentId": "S-KP", "case": "INVOLVES_KEYPOINT"}
    assert derived(gql, "D-KP2", "2011-01-01", [{**keypoint, "keypointIds": ["S-KP.K2"]}]) == (
        "2015-01-01"
    )
    derived(gql, "D-KP1", "2011-01-01", [{**keypoint, "keypointIds": ["S-KP.K1"]}])
    source(gql, "S-LIVE", "2024-01-01", years(20))
    untouched = {i: item(gql, i) for i in ("S-LIVE", "D-KP1")}
    on = today().isoformat()

    # Asked for a future date, the run only says what it would do: a period ends when it ends
    # and nothing is written before then (tests/e2e/test_expiry_preview.py).
    written = counts(db_url)
    tomorrow = (today() + timedelta(days=1)).isoformat()
    future = CliRunner().invoke(cli, ["expire", "--store", db_url, "--as-of", tomorrow])
    assert future.exit_code == 0, future.output
    assert "未写入任何内容" in future.output
    assert future.exception is None or isinstance(future.exception, SystemExit)
    assert counts(db_url) == written

    first = run_expire(db_url, on)
    assert first.returncode == 0, first.stderr
    assert f"到期解密（截至 {on}）" in first.stdout
    assert gql.id_of("S-OLD") in first.stdout

    old = item(gql, "S-OLD")
    assert old["status"] == "DECLASSIFIED_WORK_SECRET"
    assert old["marking"] == "机密★10年"  # kept beside the declassification
    record = old["records"][-1]
    assert (record["kind"], record["decidedOn"], record["effectiveOn"]) == (
        "EXPIRY",
        "2010-01-01",
        "2010-01-01",
    )
    assert (record["handlerId"], record["officialId"]) == (None, None)
    assert "X-11" in record["articles"]
    # Its derived item is declassified with it, or told to be.
    d_old = item(gql, "D-OLD")
    notified = open_notices(gql, "D-OLD")
    assert d_old["status"] == "DECLASSIFIED_WORK_SECRET" or [n["actions"] for n in notified] == [
        ["DECLASSIFY"]
    ]
    sent = notice_pages(gql, {"sourceId": "S-OLD"}, first=10)[0][0]
    if sent:
        expiry = gql(
            "query($id: ID!) { change(id: $id) { kind itemId reason effectiveOn handlerId } }",
            {"id": sent[0]["changeId"]},
        )["change"]
        assert expiry == {
            "kind": "EXPIRY",
            "itemId": "S-OLD",
            "reason": "PERIOD_EXPIRED",
            "effectiveOn": "2010-01-01",
            "handlerId": None,
        }
        assert "2010年1月1日" in sent[0]["text"]

    # The keypoint alone ended: the source stays classified, what involves only K2 follows.
    kp = item(gql, "S-KP")
    assert kp["status"] == "CLASSIFIED"
    assert {k["id"]: k["declassified"] for k in kp["keypoints"]} == {
        "S-KP.K1": False,
        "S-KP.K2": True,
    }
    d_kp2 = item(gql, "D-KP2")
    assert d_kp2["status"] == "DECLASSIFIED_WORK_SECRET" or [
        n["actions"] for n in open_notices(gql, "D-KP2")
    ] == [["DECLASSIFY"]]
    for item_id, before in untouched.items():
        assert item(gql, item_id) == before
        assert notice_pages(gql, {"itemId": item_id}, first=10) == [([], False)]

    # As it stood: classified the day before its end, declassified from that day.
    assert item(gql, "S-OLD", "2009-12-31")["status"] == "CLASSIFIED"
    assert item(gql, "S-OLD", "2010-01-01")["status"] == "DECLASSIFIED_WORK_SECRET"
    assert item(gql, "S-OLD", "1999-12-31") is None  # not yet issued

    # A second run (or a second replica) writes nothing.
    written = counts(db_url)
    assert written["change"] >= 2
    second = run_expire(db_url, on)
    assert second.returncode == 0, second.stderr
    assert "解密 0 项，发出变更通知 0 份" in second.stdout
    assert counts(db_url) == written


def test_an_item_declassified_by_its_own_expiry_keeps_no_open_notice(gql: Gql, db_url: str) -> None:
    """D-OLD ended with its source: the run declassifies it. A notice still asking its holder to
    declassify it could never be applied (NOTICE_OUTDATED): it must not stay open."""
    expired_world(gql)
    store = open_store(db_url)
    try:
        expire(store, today())
    finally:
        store.close()
    assert item(gql, "D-OLD")["status"] == "DECLASSIFIED_WORK_SECRET"
    for left in open_notices(gql, "D-OLD"):
        applied = gql(APPLY, {"input": {"noticeId": left["id"], **B}})["applyNotice"]
        assert applied["__typename"] == "ApplyNoticeSuccess", (left["status"], applied)


def test_a_period_agreed_with_the_originator_ends_by_itself_d17_x11(gql: Gql, db_url: str) -> None:
    """The source marks no period; its originator answered three years for the derived item
    (D-17), marked 机密★3年. When they have passed, it is declassified by itself (X-11)."""
    world(gql)
    source(gql, "S-U", "2012-01-01", {"kind": "UNMARKED"})
    assert (
        derived(
            gql,
            "D-U",
            "2012-02-01",
            [{"parentId": "S-U", "case": "SUMMARY"}],
            period=years(3),
            originatorConsultation="甲部复函〔2012〕5号：保密期限3年",
        )
        == "2015-02-01"
    )
    store = open_store(db_url)
    try:
        expire(store, today())
    finally:
        store.close()
    assert item(gql, "S-U")["status"] == "CLASSIFIED"  # 机密 unmarked: twenty years
    ended = item(gql, "D-U")
    assert ended["status"] == "DECLASSIFIED_WORK_SECRET", ended
    assert ended["records"][-1]["effectiveOn"] == "2015-02-01"


def test_an_ended_period_is_recorded_by_hand_as_of_its_end_x11(gql: Gql) -> None:
    """The office records the expiry itself instead of waiting for the run: effective on the
    end date, years ago; the notices are due a month from now, not from then."""
    expired_world(gql)
    result = committed(
        declassify(
            gql,
            "S-OLD",
            **A,
            reason="PERIOD_EXPIRED",
            effectiveOn="2010-01-01",
            basis="保密期限已于2010年1月1日届满（X-11）。",
        )
    )
    assert result["change"]["effectiveOn"] == "2010-01-01"
    [sent] = result["notices"]
    assert sent["dueOn"] >= today().isoformat()


def test_due_for_review_lists_what_ends_soonest_first_x4(gql: Gql) -> None:
    world(gql)
    day = today()

    def on(days: int) -> str:
        return (day + timedelta(days=days)).isoformat()

    source(gql, "S-ENDED", "2000-01-01", years(10))  # ended, not yet run
    source(gql, "S-DUE-03", "2020-01-01", until(on(3)))
    source(gql, "S-DUE-10A", "2020-01-01", until(on(10)))
    source(gql, "S-DUE-10B", "2020-01-01", until(on(10)))
    source(gql, "S-DUE-40", "2020-01-01", until(on(40)))
    source(gql, "S-GONE", "2020-01-01", until(on(5)))
    source(gql, "S-COND", "2020-01-01", {"kind": "UNTIL_CONDITION", "condition": "工程竣工后"})
    derived(gql, "D-DUE-03", "2020-02-01", [{"parentId": "S-DUE-03", "case": "SUMMARY"}])
    committed(declassify(gql, "S-GONE", **A))

    def pages(days: int, first: int, organisation: str | None = None) -> list[Any]:
        out: list[Any] = []
        after: str | None = None
        while True:
            variables = {"days": days, "organisation": organisation, "first": first}
            page = gql(DUE, {**variables, "after": after})["dueForReview"]
            assert page["__typename"] == "ItemConnection", page
            out.append(
                (
                    [(e["node"]["id"], e["node"]["expiry"]) for e in page["edges"]],
                    page["pageInfo"]["hasNextPage"],
                )
            )
            if not page["pageInfo"]["hasNextPage"]:
                return out
            assert len(out) < 20
            after = page["pageInfo"]["endCursor"]

    month = pages(30, first=2)
    assert [more for _, more in month] == [True, True, False]
    listed = [entry for entries, _ in month for entry in entries]
    # Items ending on one day come by id; the service gives ids (D- before S-), so the two
    # of day ten may come either way.
    assert listed[:3] == [("S-ENDED", "2010-01-01"), ("D-DUE-03", on(3)), ("S-DUE-03", on(3))]
    assert sorted(listed[3:]) == [("S-DUE-10A", on(10)), ("S-DUE-10B", on(10))]
    assert pages(40, first=50)[0][0][-1] == ("S-DUE-40", on(40))
    assert pages(0, first=50) == [([("S-ENDED", "2010-01-01")], False)]
    assert pages(30, first=50, organisation="org-b") == [([("D-DUE-03", on(3))], False)]
    for days, first, after in ((-1, 10, None), (3661, 10, None), (30, 0, None), (30, 2, "x")):
        bad = gql(DUE, {"days": days, "first": first, "after": after})["dueForReview"]
        assert bad["__typename"] == "InvalidInput", (days, first, after, bad)


def test_the_app_runs_the_expiry_at_start_up(gql: Gql, db_url: str) -> None:
    expired_world(gql)
    assert item(gql, "S-OLD")["status"] == "CLASSIFIED"
    with TestClient(create_app(Settings(store=db_url, daily_expiry=True))) as client:
        signed_in(client)
        deadline = time.monotonic() + 60
        while True:
            variables = {"id": gql.id_of("D-OLD")}
            response = client.post("/graphql", json={"query": ITEM, "variables": variables})
            if response.json()["data"]["item"]["status"] != "CLASSIFIED":
                break
            assert time.monotonic() < deadline, "the expiry did not run at start-up"
            time.sleep(0.1)
    assert item(gql, "S-OLD")["status"] == "DECLASSIFIED_WORK_SECRET"
    assert item(gql, "S-OLD")["records"][-1]["kind"] == "EXPIRY"
