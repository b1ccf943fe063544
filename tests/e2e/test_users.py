"""`lineage users` as an operator runs it, on both stores: a token it prints signs a request
in, rotation and revocation take effect at once, no secret is ever shown again, bad input is
a clear error, and every command is in the audit trail."""

from __future__ import annotations

import re

from starlette.testclient import TestClient
from typer.testing import CliRunner

from graph.access import SYSTEM
from graph.trail import AuditQuery
from service.app import create_app
from service.cli import app as cli
from service.composition import open_store
from service.config import Settings
from service.usecases import NewPerson, register_person

TOKEN = re.compile(r"^lin_\S+$", re.MULTILINE)


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
    with TestClient(create_app(Settings(store=db_url, daily_expiry=False))) as client:
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
        assert run("users", "token", "qian", "--store", db_url)[0] == 2  # revoked for good

    store = open_store(db_url)
    try:
        actions = [e.action for e in store.audit_events(AuditQuery(user_id="system"))]
    finally:
        store.close()
    assert actions.count("cli users token") == 2
    assert {"cli users add", "cli users revoke", "cli demo"} <= set(actions)


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
        assert code == 2, (args, output)
        assert says in output, (args, output)
        assert "Traceback" not in output
    listed = run("users", "list", "--store", db_url)[1]
    assert not re.search(r"^x ", listed, re.MULTILINE)
    # An administrator needs no person.
    code, output = run("users", "add", "ops", "--role", "administrator", "--store", db_url)
    assert code == 0, output
    assert token_in(output)
