"""Time as a question (issue 23, point 2), over HTTP and the command line on both stores:
`expiryPreview(asOf)` says what the expiry run would declassify on a date to come and which
notices it would send (X-11, X-13), writing nothing, each reader seeing placeholders for what
it may not read (D-10); `lineage expire --as-of` a date to come prints the same and writes
nothing; and the preview equals the run: run for real on that date (the clock moved there),
the expiry declassifies what the preview said and sends the notices it listed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from typer.testing import CliRunner

from graph.access import SYSTEM
from graph.model import BasisCase, KnowledgeScope, Level, PeriodKind
from graph.store.base import GraphStore
from graph.trail import AuditQuery, Outcome
from service import expiry
from service.app import create_app
from service.cli import app as cli
from service.composition import open_store
from service.config import Settings
from service.usecases import (
    BasisSpec,
    DeriveItem,
    NewKeypoint,
    NewOrganisation,
    NewPerson,
    PeriodSpec,
    RegisterSource,
    derive_item,
    register_organisation,
    register_person,
    register_source,
    today,
)
from tests.e2e.conftest import Api, Gql, signed_in
from tests.e2e.test_expiry import counts, derived, run_expire, source, until, world, years

PREVIEW = """
query($asOf: Date!, $organisation: ID, $first: Int!, $after: String) {
  expiryPreview(asOf: $asOf, organisationId: $organisation) {
    __typename
    ... on ExpiryPreview {
      asOf keptCount
      expirations(first: $first, after: $after) {
        __typename
        ... on ExpirationConnection {
          totalCount pageInfo { hasNextPage endCursor }
          edges { cursor node { id redacted item { id title } endedOn keypointIds summary } }
        }
      }
      notices(first: 500) {
        __typename
        ... on ExpiryNoticeConnection {
          totalCount
          edges { node {
            id redacted sourceId item { id title } organisationId actions markingAfter
            statusAfter path text dueOn supersededInRun
          } }
        }
      }
    }
    ... on Problem { message }
    ... on InvalidInput { field }
  }
}"""


def preview(gql: Gql, on: date, as_: str | None = None, **more: Any) -> dict[str, Any]:
    variables = {"asOf": on.isoformat(), "first": 50, **more}
    found: dict[str, Any] = gql(PREVIEW, variables, as_=as_)["expiryPreview"]
    return found


def name_of(gql: Gql, id: str) -> str:
    """What the test calls the id the service gave (conftest.Api.alias)."""
    return {v: k for k, v in cast(Api, gql).aliases.items()}.get(id, id)


def ahead(days: int) -> str:
    return (today() + timedelta(days=days)).isoformat()


def coming_world(gql: Gql) -> None:
    """Periods that end in ten and twenty days, one in sixty, all after today: nothing has
    expired yet. Org-b's derived items are outside org-a's knowledge scope (D-10)."""
    world(gql)
    source(gql, "S-SOON", "2024-01-01", until(ahead(10)))
    # Follows its source's end (D-9): it expires by itself the same day.
    derived(gql, "D-SOON", "2024-02-01", [{"parentId": "S-SOON", "case": "SUMMARY"}])
    # Keeps a lower basis that runs on: told to change its level (D-12, X-13).
    source(gql, "S-LOW", "2024-01-01", years(10), level="CONFIDENTIAL")
    derived(
        gql,
        "D-BOTH",
        "2024-02-01",
        [{"parentId": "S-SOON", "case": "SUMMARY"}, {"parentId": "S-LOW", "case": "SUMMARY"}],
    )
    source(
        gql,
        "S-KP",
        "2024-01-01",
        years(20),
        keypoints=[
            {"id": "S-KP.K1", "title": "选址", "level": "SECRET", "period": years(20)},
            {"id": "S-KP.K2", "title": "投资", "level": "CONFIDENTIAL", "period": until(ahead(20))},
        ],
    )
    keypoint = {"parentId": "S-KP", "case": "INVOLVES_KEYPOINT", "keypointIds": ["S-KP.K2"]}
    derived(gql, "D-KP", "2024-02-01", [keypoint])
    source(gql, "S-LATER", "2024-01-01", until(ahead(60)))


def expirations(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    connection = found["expirations"]
    assert connection["__typename"] == "ExpirationConnection", connection
    return {e["node"]["id"]: e["node"] for e in connection["edges"]}


def notices(found: dict[str, Any]) -> list[dict[str, Any]]:
    connection = found["notices"]
    assert connection["__typename"] == "ExpiryNoticeConnection", connection
    return [e["node"] for e in connection["edges"]]


def sent(found: dict[str, Any]) -> Counter[tuple[Any, ...]]:
    return Counter(
        (n["sourceId"], n["id"], n["organisationId"], tuple(n["actions"]), n["markingAfter"])
        for n in notices(found)
    )


def test_the_preview_says_what_expires_and_who_is_told_writing_nothing_x11_x13(
    gql: Gql, db_url: str
) -> None:
    coming_world(gql)
    written = counts(db_url)
    on = today() + timedelta(days=30)
    found = preview(gql, on)
    assert found["__typename"] == "ExpiryPreview", found
    assert found["asOf"] == on.isoformat()
    expired = expirations(found)
    assert set(expired) == {"S-SOON", "D-SOON", "S-KP", "D-KP"}
    assert expired["S-SOON"]["endedOn"] == ahead(10)
    assert expired["S-KP"]["keypointIds"] == ["S-KP.K2"]  # the rest stays classified
    assert expired["D-KP"]["endedOn"] == ahead(20)
    assert not {"S-LATER", "S-LOW"} & set(expired)
    assert found["expirations"]["totalCount"] == 4
    told = {(n["sourceId"], n["id"]): n for n in notices(found)}
    assert set(told) == {("S-SOON", "D-SOON"), ("S-SOON", "D-BOTH"), ("S-KP", "D-KP")}
    assert told[("S-SOON", "D-BOTH")]["actions"] == ["CHANGE_LEVEL"]
    assert told[("S-SOON", "D-BOTH")]["organisationId"] == "org-b"
    assert told[("S-SOON", "D-BOTH")]["markingAfter"].startswith("秘密")
    assert "须变更密级" in told[("S-SOON", "D-BOTH")]["text"]
    # D-SOON and D-KP expire by themselves later in the same run: their notices are superseded.
    assert told[("S-SOON", "D-SOON")]["supersededInRun"]
    assert not told[("S-SOON", "D-BOTH")]["supersededInRun"]
    # Nothing written, whatever was asked.
    assert counts(db_url) == written
    assert gql('{ item(id: "S-SOON") { status } }')["item"] == {"status": "CLASSIFIED"}

    # Nearer, less; ten days on, the first end only.
    soon = expirations(preview(gql, today() + timedelta(days=10)))
    assert set(soon) == {"S-SOON", "D-SOON"}
    assert expirations(preview(gql, today())) == {}
    # An organisation's share: its items, and the notices it would receive.
    of_b = preview(gql, on, organisation="org-b")
    assert set(expirations(of_b)) == {"D-SOON", "D-KP"}
    assert {n["id"] for n in notices(of_b)} == {"D-SOON", "D-BOTH", "D-KP"}


def test_a_reader_sees_placeholders_for_what_it_may_not_read_d10(gql: Gql) -> None:
    coming_world(gql)
    on = today() + timedelta(days=30)
    full = preview(gql, on)
    official = preview(gql, on, as_="o-a")  # org-a: its sources, none of org-b's items
    shown = expirations(official)
    assert {i for i, e in shown.items() if not e["redacted"]} == {"S-SOON", "S-KP"}
    hidden = [e for e in shown.values() if e["redacted"]]
    assert len(hidden) == 2
    for entry in hidden:
        assert entry["id"].startswith("hidden-")
        assert (entry["item"], entry["endedOn"], entry["summary"]) == (None, None, None)
    assert official["expirations"]["totalCount"] == full["expirations"]["totalCount"]
    for notice in notices(official):
        assert notice["redacted"]
        assert notice["id"].startswith("hidden-")
        assert notice["sourceId"] in {"S-SOON", "S-KP"}  # its own sources, by their ids
        assert (notice["item"], notice["text"], notice["actions"]) == (None, None, [])
    body = str(official)
    for entry in expirations(full).values():
        if entry["id"].startswith("D-"):
            assert entry["id"] not in body
            assert entry["item"]["title"] not in body


def test_the_preview_pages_by_cursor(gql: Gql) -> None:
    coming_world(gql)
    on = today() + timedelta(days=30)
    seen: list[str] = []
    after = None
    while True:
        page = preview(gql, on, first=3, after=after)["expirations"]
        seen.extend(e["node"]["id"] for e in page["edges"])
        assert page["totalCount"] == 4
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    given = [gql.id_of(name) for name in seen]  # in the order of the ids the service gave
    assert sorted(given) == given
    assert sorted(seen) == sorted(expirations(preview(gql, on)))
    # A connection inside an answer: a bad cursor is an error of the request naming the field.
    variables = {"asOf": on.isoformat(), "first": 50, "after": "not-a-cursor"}
    bad = cast(Api, gql).post(PREVIEW, variables)
    assert bad["errors"][0]["extensions"]["field"] == "after", bad


def test_a_past_date_is_refused(gql: Gql) -> None:
    found = preview(gql, today() - timedelta(days=1))
    assert (found["__typename"], found["field"]) == ("InvalidInput", "asOf")
    assert "X-11" in found["message"]


def test_expire_as_of_a_date_to_come_prints_the_preview_and_writes_nothing(
    gql: Gql, db_url: str
) -> None:
    coming_world(gql)
    written = counts(db_url)
    on = ahead(30)
    dry = run_expire(db_url, on)
    assert dry.returncode == 0, dry.stderr
    assert (
        f"到期解密预览（截至 {on}，未写入任何内容）：将解密 4 项，将发出变更通知 3 份" in dry.stdout
    )
    assert gql.id_of("S-SOON") in dry.stdout
    assert f"通知 org-b：{gql.id_of('D-BOTH')} 须变更密级" in dry.stdout
    assert counts(db_url) == written
    runner = CliRunner()
    for args, said in (
        (["--dry-run", "--as-of", ahead(-1)], "不能预览已经过去的日期"),
        (["--as-of", "2026-13-01"], "日期「2026-13-01」无效"),
    ):
        refused = runner.invoke(cli, ["expire", "--store", db_url, *args])
        assert refused.exit_code == 2, refused.output
        assert said in refused.output
        assert len(refused.output.strip().splitlines()) == 1
    today_dry = runner.invoke(cli, ["expire", "--store", db_url, "--dry-run"])
    assert today_dry.exit_code == 0, today_dry.output
    assert "将解密 0 项" in today_dry.output
    assert counts(db_url) == written


def test_the_preview_equals_the_run_on_that_date(
    gql: Gql, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Previewed now for a date D; then the clock moves to D and the run itself runs: it
    declassifies what the preview listed, as of the same ends, and sends the same notices."""
    coming_world(gql)
    on = today() + timedelta(days=30)
    found = preview(gql, on)
    previewed = {i: (e["endedOn"], tuple(e["keypointIds"])) for i, e in expirations(found).items()}
    told = sent(found)

    monkeypatch.setattr(expiry, "today", lambda: on)  # the clock, moved to D
    store = open_store(db_url)
    try:
        run = expiry.expire(store, on)
    finally:
        store.close()
    ran = {
        name_of(gql, c.change.item_id): (
            c.change.effective_on.isoformat(),
            tuple(name_of(gql, k.id) for k in c.change.keypoints_before),
        )
        for c in run.expired
    }
    assert ran == previewed
    notified = Counter(
        (
            name_of(gql, n.source_id),
            name_of(gql, n.item_id),
            n.organisation_id,
            tuple(a.value for a in n.actions),
            n.after.marking,
        )
        for c in run.expired
        for n in c.notices
    )
    assert notified == told
    assert sum(told.values()) == run.notices == 3
    for item_id in ("S-SOON", "D-SOON", "D-KP"):
        status = gql("query($id: ID!) { item(id: $id) { status } }", {"id": item_id})["item"]
        assert status == {"status": "DECLASSIFIED_WORK_SECRET"}


def test_the_preview_is_audited_as_a_read_of_what_it_showed(gql: Gql) -> None:
    coming_world(gql)
    preview(gql, today() + timedelta(days=30), as_="o-a")
    (event,) = gql.store.audit_events(AuditQuery(user_id="o-a", limit=1))  # type: ignore[attr-defined]
    assert event.action == "query expiryPreview"
    assert event.outcome is Outcome.OK
    # The official's own sources it was shown; none of org-b's items, which it was not.
    assert set(event.items) == {gql.id_of("S-SOON"), gql.id_of("S-KP")}


def test_in_hide_mode_what_a_reader_may_not_read_is_left_out(db_url: str) -> None:
    settings = Settings(store=db_url, daily_expiry=False, redaction="hide")
    with TestClient(create_app(settings)) as client:
        gql = Api(signed_in(client))
        coming_world(gql)
        found = preview(gql, today() + timedelta(days=30), as_="o-a")
        assert set(expirations(found)) == {"S-SOON", "S-KP"}
        assert found["expirations"]["totalCount"] == 2
        assert (notices(found), found["notices"]["totalCount"]) == ([], 0)


# Random worlds whose periods end in the coming days: sources (some keypoints ending sooner
# than their source), items derived from one or two of them or from each other; the preview
# for a random date to come equals the run on that date, item by item and notice by notice.
ORGANISATIONS = ("org-0", "org-1")


@st.composite
def coming_worlds(draw: st.DrawFn) -> tuple[list[Step], int]:
    steps: list[Step] = []
    made: list[str] = []
    for n in range(draw(st.integers(1, 3))):
        organisation = draw(st.sampled_from(ORGANISATIONS))
        ends = draw(st.integers(1, 40))
        keypoint_ends = draw(st.lists(st.integers(1, 40), max_size=2))
        source = RegisterSource(
            id=f"S-{n}",
            title=f"源{n}",
            document_number=f"源文{n}",
            organisation_id=organisation,
            issued_on=date(2024, 1, 1),
            level=draw(st.sampled_from([Level.SECRET, Level.CONFIDENTIAL])),
            period=PeriodSpec(PeriodKind.UNTIL_DATE, until=today() + timedelta(days=ends)),
            scope=KnowledgeScope(organisations=frozenset(ORGANISATIONS)),
            handler_id=f"h-{organisation}",
            official_id=f"o-{organisation}",
            keypoints=tuple(
                NewKeypoint(
                    f"密{n}.{k}",
                    Level.CONFIDENTIAL,
                    PeriodSpec(PeriodKind.UNTIL_DATE, until=today() + timedelta(days=min(e, ends))),
                    id=f"S-{n}.K{k}",
                )
                for k, e in enumerate(keypoint_ends)
            ),
        )
        steps.append(partial(register_source, command=source, actor=SYSTEM))
        made.append(f"S-{n}")
    for n in range(draw(st.integers(1, 5))):
        organisation = draw(st.sampled_from(ORGANISATIONS))
        parents = draw(st.lists(st.sampled_from(made), min_size=1, max_size=2, unique=True))
        derived_item = DeriveItem(
            id=f"D-{n}",
            title=f"派{n}",
            document_number=f"派文{n}",
            organisation_id=organisation,
            issued_on=date(2024, 2, 1),
            bases=tuple(BasisSpec(p, BasisCase.SUMMARY) for p in parents),
            scope=KnowledgeScope(organisations=frozenset({organisation})),
            handler_id=f"h-{organisation}",
            official_id=f"o-{organisation}",
        )
        steps.append(partial(derive_item, command=derived_item, actor=SYSTEM))
        made.append(f"D-{n}")
    return steps, draw(st.integers(0, 45))


Step = Callable[[GraphStore], object]


def _what(run: expiry.ExpiryRun) -> tuple[Any, ...]:
    expired = sorted(
        (c.change.item_id, c.change.effective_on, tuple(k.id for k in c.change.keypoints_before))
        for c in run.expired
    )
    superseded = {n.id for c in run.expired for n in c.superseded}
    sent = sorted(
        (
            n.source_id,
            n.item_id,
            n.organisation_id,
            n.actions,
            n.after.status,
            n.after.marking,
            n.due_on,
            n.id in superseded,
        )
        for c in run.expired
        for n in c.notices
    )
    return expired, sent, sorted(run.kept)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(world=coming_worlds())
def test_the_preview_equals_the_run_on_random_worlds(
    tmp_path_factory: pytest.TempPathFactory, world: tuple[list[Step], int]
) -> None:
    steps, days = world
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('coming') / 'world.db'}")
    try:
        for organisation in ORGANISATIONS:
            register_organisation(
                store, NewOrganisation(organisation, f"机关{organisation}"), SYSTEM
            )
            for prefix in ("h", "o"):
                person = NewPerson(f"{prefix}-{organisation}", f"人员{prefix}", organisation)
                register_person(store, person, SYSTEM)
        for step in steps:
            step(store)
        on = today() + timedelta(days=days)
        previewed = expiry.preview(store, on)
        assert expiry.preview(store, on).as_of == on  # a second preview: nothing was kept
        with pytest.MonkeyPatch.context() as clock:
            clock.setattr(expiry, "today", lambda: on)
            ran = expiry.expire(store, on)
        assert _what(previewed) == _what(ran)
        event(f"declassified: {bool(ran.expired)}, notices: {bool(ran.notices)}")
    finally:
        store.close()
