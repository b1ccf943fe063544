"""`lineage users` as an operator runs it, on both stores: a token it prints signs a request
in, rotation and revocation take effect at once, no secret is ever shown again, bad input is
a clear error, and every command is in the audit trail."""

from __future__ import annotations

import re

from starlette.testclient import TestClient
from typer.testing import CliRunner

from graph.access import SYSTEM
from graph.trail import AuditQuery
from service.accounts import issue_token
from service.app import create_app
from service.cli import app as cli
from service.composition import open_store
from service.config import Settings
from service.usecases import NewPerson, register_person

TOKEN = re.compile(r"^lin_\S+$", re.MULTILINE)
GRANT = re.compile(r"G-[0-9a-f]{16}")
APPROVE = """mutation($id: ID!) { approveGrant(id: $id) {
  __typename ... on GrantDecided { grant { status } } ... on Problem { message } } }"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def token_in(output: str) -> str:
    found = TOKEN.search(output)
    assert found, output
    return found.group(0)


def who(client: TestClient, token: str) -> tuple[int, object]:
    response = client.post(
        "/graphql",
        json={"query": "{ me { userId personId roles supervisesAll } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code, response.json().get("data")


def approve(client: TestClient, grant_id: str, user_id: str) -> object:
    """`user_id` approves the request in the API, with a token of its own."""
    bearer = issue_token(client.app.state.store, user_id, revoke_others=False).bearer  # type: ignore[attr-defined]
    response = client.post(
        "/graphql",
        json={"query": APPROVE, "variables": {"id": grant_id}},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    return response.json()["data"]["approveGrant"]


def test_users_are_added_rotated_revoked_and_listed(db_url: str) -> None:
    assert run("demo", "--store", db_url)[0] == 0
    store = open_store(db_url)
    try:
        register_person(store, NewPerson("p-qian-li", "钱丽", "org-secrecy"), SYSTEM)
    finally:
        store.close()
    code, output = run(
        "users",
        "add",
        "qian",
        "--role",
        "supervisor",
        "--person",
        "p-qian-li",
        "--supervises",
        "org-county",
        "--store",
        db_url,
    )
    assert code == 0, output
    first = token_in(output)
    # Supervision widens who may read: the role waits for another supervisor (D-10).
    assert "尚未生效" in output
    assert "approveGrant" in output
    grant_id = GRANT.search(output)
    assert grant_id, output
    with TestClient(create_app(Settings(store=db_url, daily_expiry=False))) as client:
        assert who(client, first) == (
            200,
            {
                "me": {
                    "userId": "qian",
                    "personId": "p-qian-li",
                    "roles": [],
                    "supervisesAll": False,
                }
            },
        )
        pending = run("users", "requests", "--store", db_url)[1]
        assert grant_id.group(0) in pending
        assert "待批准" in pending
        approved = approve(client, grant_id.group(0), "p-sun-hong")
        assert approved == {"__typename": "GrantDecided", "grant": {"status": "APPROVED"}}
        assert who(client, first) == (
            200,
            {
                "me": {
                    "userId": "qian",
                    "personId": "p-qian-li",
                    "roles": ["SUPERVISOR"],
                    "supervisesAll": False,
                }
            },
        )

        code, output = run("users", "token", "qian", "--label", "laptop", "--store", db_url)
        assert code == 0, output
        second = token_in(output)
        assert who(client, first)[0] == 401  # rotated out
        assert who(client, second)[0] == 200

        code, listed = run("users", "list", "--store", db_url)
        assert code == 0, listed
        line = next(x for x in listed.splitlines() if x.startswith("qian "))
        for shown in ("钱丽", "监督检查人员", "org-county"):
            assert shown in line
        assert "laptop" in listed
        for secret in (first, second):
            assert secret.split("_", 2)[2] not in listed  # no secret is kept to show

        token_id = second.split("_")[1]
        code, output = run("users", "revoke", "--token", token_id, "--store", db_url)
        assert code == 0, output
        assert who(client, second)[0] == 401
        third = token_in(run("users", "token", "qian", "--store", db_url)[1])
        assert who(client, third)[0] == 200
        code, output = run("users", "revoke", "qian", "--store", db_url)
        assert code == 0, output
        assert who(client, third)[0] == 401
        assert "已吊销" in run("users", "list", "--store", db_url)[1]
        assert run("users", "token", "qian", "--store", db_url)[0] == 1  # revoked for good

    store = open_store(db_url)
    try:
        actions = [e.action for e in store.audit_events(AuditQuery(user_id="system"))]
    finally:
        store.close()
    assert actions.count("cli users token") == 2
    assert {"cli users add", "cli users revoke", "cli demo", "grant request"} <= set(actions)


def test_bad_users_commands_are_clear_errors_and_write_nothing(db_url: str) -> None:
    assert run("demo", "--store", db_url)[0] == 0
    for args, says in (
        (("users", "add", "x", "--role", "boss", "--person", "p-sun-hong"), "未知角色"),
        (("users", "add", "x", "--role", "handler"), "须对应本系统登记的一名人员"),
        (("users", "add", "x", "--role", "handler", "--person", "p-nobody"), "不存在"),
        (("users", "add", "x", "--role", "handler", "--person", "p-sun-hong"), "已存在"),
        (("users", "add", "' OR 1=1 --", "--role", "administrator"), "标识"),
        (
            (
                "users",
                "add",
                "x",
                "--role",
                "handler",
                "--person",
                "p-zhao-min",
                "--supervises",
                "org-county",
            ),
            "只有监督检查人员",
        ),
        (
            (
                "users",
                "add",
                "x",
                "--role",
                "supervisor",
                "--person",
                "p-sun-hong",
                "--supervises",
                "org-nowhere",
            ),
            "不存在",
        ),
        (("users", "token", "nobody"), "不存在"),
        (("users", "revoke", "--token", "nothing"), "不存在"),
        (
            (
                "users",
                "revoke",
            ),
            "请给出一个用户",
        ),
    ):
        code, output = run(*args, "--store", db_url)
        # A role that does not exist and a missing argument are usage errors (2); the rest
        # is refused by the service's rules or data (1).
        assert code == (2 if says in ("未知角色", "请给出一个用户") else 1), (args, output)
        assert says in output, (args, output)
        assert "Traceback" not in output
    listed = run("users", "list", "--store", db_url)[1]
    assert not re.search(r"^x ", listed, re.MULTILINE)
    # An administrator needs no person.
    code, output = run("users", "add", "ops", "--role", "administrator", "--store", db_url)
    assert code == 0, output
    assert token_in(output)


def test_the_three_officers_are_three_persons(db_url: str) -> None:
    """三员分立: administrator, auditor and supervisor are each held alone, and an auditor
    acts for no person; refused with a clear message, and nothing written."""
    assert run("demo", "--store", db_url)[0] == 0
    store = open_store(db_url)
    try:
        register_person(store, NewPerson("p-qian-li", "钱丽", "org-secrecy"), SYSTEM)
    finally:
        store.close()
    for roles, person, says in (
        (("administrator", "supervisor"), "p-qian-li", "三员分立"),
        (("administrator", "auditor"), None, "三员分立"),
        (("auditor", "supervisor"), "p-qian-li", "三员分立"),
        (("administrator", "official"), "p-qian-li", "三员分立"),
        (("supervisor", "handler"), "p-qian-li", "三员分立"),
        (("auditor",), "p-qian-li", "安全审计员不对应"),
    ):
        args = ["users", "add", "x"]
        for role in roles:
            args += ["--role", role]
        if person:
            args += ["--person", person]
        code, output = run(*args, "--store", db_url)
        assert code == 1, (roles, output)
        assert says in output, (roles, output)
    assert not re.search(r"^x ", run("users", "list", "--store", db_url)[1], re.MULTILINE)
    # An auditor needs no person, and so does not read what a person reads.
    code, output = run("users", "add", "audit-2", "--role", "auditor", "--store", db_url)
    assert code == 0, output
    with TestClient(create_app(Settings(store=db_url, daily_expiry=False))) as client:
        response = client.post(
            "/graphql",
            json={"query": "{ me { roles roleLabels personId } }"},
            headers={"Authorization": f"Bearer {token_in(output)}"},
        )
    assert response.json()["data"]["me"] == {
        "roles": ["AUDITOR"],
        "roleLabels": ["安全审计员"],
        "personId": None,
    }


def test_the_operator_cannot_widen_supervision_alone(db_url: str) -> None:
    """`lineage users supervise` files a request a supervisor approves in the API; a change
    that only narrows takes effect at once."""
    assert run("demo", "--store", db_url)[0] == 0
    store = open_store(db_url)
    try:
        register_person(store, NewPerson("p-qian-li", "钱丽", "org-secrecy"), SYSTEM)
    finally:
        store.close()
    code, output = run(
        "users", "add", "qian", "--role", "supervisor", "--person", "p-qian-li",
        "--supervises", "org-county", "--store", db_url,
    )  # fmt: skip
    assert code == 0, output
    first = GRANT.search(output)
    assert first
    # A second request while the first waits is refused.
    code, output = run("users", "supervise", "qian", "--supervises", "*", "--store", db_url)
    assert code == 1, output
    assert first.group(0) in output, output
    with TestClient(create_app(Settings(store=db_url, daily_expiry=False))) as client:
        assert approve(client, first.group(0), "p-sun-hong") == {
            "__typename": "GrantDecided",
            "grant": {"status": "APPROVED"},
        }
        code, output = run("users", "supervise", "qian", "--supervises", "*", "--store", db_url)
        assert code == 0, output
        wider = GRANT.search(output)
        assert wider
        assert "尚未生效" in output
        assert who(client, token_in(run("users", "token", "qian", "--store", db_url)[1]))[1] == {
            "me": {"userId": "qian", "personId": "p-qian-li", "roles": ["SUPERVISOR"],
                   "supervisesAll": False}
        }  # fmt: skip
        # The user itself may not approve its own widening; the bureau's officer may.
        refused = approve(client, wider.group(0), "qian")
        assert refused["__typename"] == "AccessDenied"  # type: ignore[index]
        assert approve(client, wider.group(0), "p-sun-hong") == {
            "__typename": "GrantDecided",
            "grant": {"status": "APPROVED"},
        }
        bearer = token_in(run("users", "token", "qian", "--store", db_url)[1])
        assert who(client, bearer)[1]["me"]["supervisesAll"] is True  # type: ignore[index]
        # Narrowing back needs no one.
        code, output = run("users", "supervise", "qian", "--store", db_url)
        assert code == 0, output
        assert "已缩小" in output
        assert not GRANT.search(output)
        assert who(client, bearer)[1]["me"]["supervisesAll"] is False  # type: ignore[index]
    listed = run("users", "requests", "--all", "--store", db_url)[1]
    assert listed.count("已批准") >= 3  # the demo's founding supervisor, and qian's two
    assert "首位监督检查人员" in listed
