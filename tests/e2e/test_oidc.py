"""Single sign-on through an OpenID Connect provider (issue 22, point 8), against the real app
on the embedded store with the demo's users.

The provider is the test's own, and declared as such: a small HTTP server on a free loopback
port that serves a discovery document and a JWKS, with keys the test generates (RSA, EC, and
a symmetric key it publishes on purpose, which the service must never use), and counts the
JWKS requests it answers. It stands in for Keycloak or AD FS; everything on the service's
side (discovery, fetching, choosing keys, verifying, mapping groups) is the real code, over
real HTTP. The store is SQLite only: the provider's keys decide who signs in, and the
store is read for a user as with any JWT (tests/e2e/test_tokens.py runs that on both).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.testclient import TestClient
from typer.testing import CliRunner

from graph.access import EVERY_ORGANISATION, SYSTEM, Role
from graph.errors import InvalidValue
from graph.trail import AuditQuery, Outcome
from service.accounts import NewUser, add_user
from service.app import create_app
from service.cli import app as cli
from service.composition import open_store
from service.config import Settings
from service.demo import load_demo
from service.usecases import NewPerson, register_person
from tests.e2e.conftest import APPROVE
from tests.e2e.test_tokens import assembled, b64

ME = "{ me { userId roles } }"
AUDIENCE = "lineage"
REALM = "/realms/agency"
# The provider's keys are fetched again at most once a second, and are stale after three.
REFRESH_SECONDS = 1.0
MAX_AGE_SECONDS = 3.0
GROUPS = {
    "县工信局-定密": {"roles": ["official"], "organisation": "org-county"},
    "县工信局-承办": {"roles": ["handler"], "organisation": "org-county"},
    "研究院-定密": {"roles": ["official"], "organisation": "org-institute"},
    "保密局-监督": {"roles": ["supervisor"], "organisation": "org-secrecy"},
    "全体-监督": {"roles": ["supervisor"]},
}


@dataclass
class Provider:
    """The test's OpenID Connect provider (see the module's docstring)."""

    server: ThreadingHTTPServer
    keys: dict[str, Any] = field(default_factory=dict)  # kid: private key or shared secret
    published: dict[str, dict[str, Any]] = field(default_factory=dict)  # kid: its JWK
    jwks_requests: int = 0
    claimed_issuer: str | None = None  # what the discovery document says, if not the truth
    hold: threading.Event | None = None  # when set, the JWKS waits for it before answering
    holding: threading.Event = field(default_factory=threading.Event)  # a JWKS request waits

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{REALM}"

    def add_rsa(self, kid: str, *, alg: str | None = "RS256", bits: int = 2048) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        self._publish(kid, key, {**jwk, **({"alg": alg} if alg else {}), "use": "sig"})

    def add_ec(self, kid: str) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        self._publish(kid, key, ECAlgorithm.to_jwk(key.public_key(), as_dict=True))

    def add_shared(self, kid: str) -> None:
        """A symmetric key in the JWKS: anyone who reads the JWKS can sign with it."""
        secret = secrets.token_bytes(32)
        self._publish(kid, secret, {"kty": "oct", "kid": kid, "alg": "HS256", "k": b64(secret)})

    def _publish(self, kid: str, key: Any, jwk: dict[str, Any]) -> None:
        self.keys[kid] = key
        self.published[kid] = {**jwk, "kid": kid}

    def remove(self, kid: str) -> None:
        del self.published[kid]

    def sign(self, kid: str, algorithm: str = "RS256", **changes: Any) -> str:
        return jwt.encode(claims(self.issuer, **changes), self.keys[kid], algorithm, {"kid": kid})

    def public_pem(self, kid: str) -> bytes:
        public: bytes = (
            self.keys[kid]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return public


def claims(issuer: str, **changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "sub": "p-huang-tao",
        "iss": issuer,
        "aud": AUDIENCE,
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    value.update(changes)
    return {k: v for k, v in value.items() if v is not None}


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == f"{REALM}/.well-known/openid-configuration":
                body: dict[str, Any] = {
                    "issuer": provider.claimed_issuer or provider.issuer,
                    "jwks_uri": f"{provider.issuer}/protocol/openid-connect/certs",
                    "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                }
            elif self.path == f"{REALM}/protocol/openid-connect/certs":
                provider.jwks_requests += 1
                if provider.hold is not None:
                    provider.holding.set()
                    provider.hold.wait(30)
                body = {"keys": list(provider.published.values())}
            else:
                self.send_error(404)
                return
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    provider = Provider(server)
    server.RequestHandlerClass = _handler(provider)
    provider.add_rsa("rsa-1")
    provider.add_ec("ec-1")
    provider.add_shared("shared-1")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield provider
    server.shutdown()
    server.server_close()


def settings_for(provider: Provider, tmp_path: Path, **changes: Any) -> Settings:
    path = tmp_path / "lineage.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        store = open_store(url)
        load_demo(store)
        store.close()
    chosen: dict[str, Any] = {
        "store": url,
        "daily_expiry": False,
        "oidc_issuer": provider.issuer,
        "jwt_audience": AUDIENCE,
        "oidc_refresh_seconds": REFRESH_SECONDS,
        "oidc_keys_max_age_seconds": MAX_AGE_SECONDS,
        # Longer than the slow provider's test waits for /healthz (a fetch given up on would
        # free a blocked loop and hide it).
        "oidc_timeout_seconds": 20.0,
    }
    chosen.update(changes)
    return Settings(**chosen)


@pytest.fixture
def service(provider: Provider, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(provider, tmp_path))) as client:
        yield client


@pytest.fixture
def mapped(provider: Provider, tmp_path: Path) -> Iterator[TestClient]:
    """The service with a map of the provider's groups, given as a file."""
    path = tmp_path / "groups.json"
    path.write_text(json.dumps(GROUPS, ensure_ascii=False), encoding="utf-8")
    chosen = settings_for(provider, tmp_path, oidc_group_map=str(path))
    with TestClient(create_app(chosen)) as client:
        yield client


def me(client: TestClient, token: str) -> Any:
    return client.post("/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"})


def roles(client: TestClient, token: str) -> list[str] | str:
    """The roles the token signs in with, or the refusal's message."""
    answer = me(client, token)
    if answer.status_code == 401:
        message: str = answer.json()["errors"][0]["message"]
        return message
    assert answer.status_code == 200, answer.text
    found: list[str] = answer.json()["data"]["me"]["roles"]
    return found


def hs256(secret: bytes, header: dict[str, Any], payload: dict[str, Any]) -> str:
    unsigned = assembled({**header, "alg": "HS256"}, payload).rsplit(".", 1)[0]
    signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
    return f"{unsigned}.{b64(signature)}"


def rs256(key: rsa.RSAPrivateKey, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """A well-signed token with a header PyJWT would not write."""
    unsigned = assembled({**header, "alg": "RS256"}, payload).rsplit(".", 1)[0]
    signature = jwt.get_algorithm_by_name("RS256").sign(unsigned.encode(), key)
    return f"{unsigned}.{b64(signature)}"


def wait_past(seconds: float) -> None:
    """Lets the service's bound on fetching again pass; the test checks what happens after
    it, not how long anything takes."""
    time.sleep(seconds + 0.2)


def test_the_providers_tokens_sign_in_and_no_other(provider: Provider, service: TestClient) -> None:
    good = provider.sign("rsa-1")
    assert me(service, good).status_code == 200
    assert me(service, good).json()["data"]["me"]["userId"] == "p-huang-tao"
    assert me(service, provider.sign("ec-1", "ES256")).status_code == 200  # `alg` from its curve
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = claims(provider.issuer)
    header, _payload, signature = good.split(".")
    refused = {
        "wrong issuer": provider.sign("rsa-1", iss="https://evil.example"),
        "the provider's issuer with a slash": provider.sign("rsa-1", iss=provider.issuer + "/"),
        "wrong audience": provider.sign("rsa-1", aud="another-app"),
        "no audience": provider.sign("rsa-1", aud=None),
        "expired": provider.sign("rsa-1", exp=datetime.now(UTC) - timedelta(minutes=5)),
        "no kid": jwt.encode(body, provider.keys["rsa-1"], "RS256"),
        "a kid that is a number": rs256(provider.keys["rsa-1"], {"kid": 7}, body),
        "signed by another key under the provider's kid": jwt.encode(
            body, other, "RS256", {"kid": "rsa-1"}
        ),
        # The key's own algorithm, never the header's: RS256 key, PS256 token.
        "PS256 under a key published for RS256": provider.sign("rsa-1", "PS256"),
        "HS256 with the RSA key's public PEM as secret": hs256(
            provider.public_pem("rsa-1"), {"kid": "rsa-1"}, body
        ),
        "HS256 with the RSA key's JWK as secret": hs256(
            orjson.dumps(provider.published["rsa-1"]), {"kid": "rsa-1"}, body
        ),
        "HS256 with the EC key's public PEM as secret": hs256(
            provider.public_pem("ec-1"), {"kid": "ec-1"}, body
        ),
        "HS256 by the symmetric key the JWKS publishes": provider.sign("shared-1", "HS256"),
        "alg none under a good kid": assembled({"alg": "none", "kid": "rsa-1"}, body),
        "the header of one token on another's payload": f"{header}.{b64(b'{}')}.{signature}",
    }
    store = service.app.state.store  # type: ignore[attr-defined]
    query = AuditQuery(outcome=Outcome.UNAUTHENTICATED, limit=10_000)
    before = len(store.audit_events(query))
    for name, token in refused.items():
        answer = me(service, token)
        assert answer.status_code == 401, (name, answer.text)
        assert "data" not in answer.json(), name
    assert len(store.audit_events(query)) - before == len(refused)


def test_a_new_key_is_fetched_and_a_removed_one_refused(
    provider: Provider, service: TestClient
) -> None:
    assert me(service, provider.sign("rsa-1")).status_code == 200
    fetched = provider.jwks_requests
    provider.add_rsa("rsa-2")  # the provider rotates: a new key first
    wait_past(REFRESH_SECONDS)
    assert me(service, provider.sign("rsa-2")).status_code == 200
    assert provider.jwks_requests == fetched + 1  # the unknown kid had the keys fetched again
    assert me(service, provider.sign("rsa-2")).status_code == 200
    assert provider.jwks_requests == fetched + 1  # and once known, no more

    provider.remove("rsa-1")  # then the old key goes
    wait_past(MAX_AGE_SECONDS)
    answer = me(service, provider.sign("rsa-1"))
    assert answer.status_code == 401, answer.text
    assert me(service, provider.sign("rsa-2")).status_code == 200


def test_tokens_with_random_kids_cannot_make_the_service_hammer_the_provider(
    provider: Provider, service: TestClient
) -> None:
    wait_past(REFRESH_SECONDS)
    fetched = provider.jwks_requests
    key = provider.keys["rsa-1"]
    started = time.monotonic()
    flood = 80
    for _ in range(flood):
        token = jwt.encode(claims(provider.issuer), key, "RS256", {"kid": secrets.token_hex(8)})
        assert me(service, token).status_code == 401
    elapsed = time.monotonic() - started
    fetches = provider.jwks_requests - fetched
    # At most once a second, whatever the tokens say: one at the start of each second.
    assert 1 <= fetches <= 1 + elapsed / REFRESH_SECONDS, (fetches, elapsed)
    assert fetches < flood / 4, (fetches, elapsed)  # the bound is far below one a token
    assert me(service, provider.sign("rsa-1")).status_code == 200


def test_a_slow_provider_does_not_hold_up_the_server(
    provider: Provider, service: TestClient
) -> None:
    """The keys are fetched in the request's worker thread: while the provider keeps one
    such request waiting, the server's loop answers others."""
    wait_past(REFRESH_SECONDS)
    provider.hold = threading.Event()
    provider.add_rsa("rsa-3")
    answers: list[int] = []
    waiting = threading.Thread(
        target=lambda: answers.append(me(service, provider.sign("rsa-3")).status_code)
    )
    waiting.start()
    assert provider.holding.wait(10)  # the service is fetching the keys, and waits
    health: list[int] = []
    probe = threading.Thread(target=lambda: health.append(service.get("/healthz").status_code))
    probe.start()
    probe.join(5)
    assert health == [200]
    assert answers == []  # /healthz answered while the fetch was still held
    provider.hold.set()
    waiting.join(10)
    assert answers == [200]


def test_groups_leave_only_the_roles_the_user_holds_here(
    provider: Provider, mapped: TestClient
) -> None:
    # p-huang-tao is the demo's 定密责任人 of org-county; p-zhao-min its 承办人; p-sun-hong the
    # supervisor of every organisation, at org-secrecy.
    assert roles(mapped, provider.sign("rsa-1", groups=["县工信局-定密"])) == ["OFFICIAL"]
    assert roles(mapped, provider.sign("rsa-1", groups="县工信局-定密")) == ["OFFICIAL"]
    assert roles(
        mapped, provider.sign("rsa-1", sub="p-zhao-min", groups=["县工信局-承办", "全体-监督"])
    ) == ["HANDLER"]  # the supervisor's group appoints no one
    assert roles(mapped, provider.sign("rsa-1", sub="p-sun-hong", groups=["保密局-监督"])) == [
        "SUPERVISOR"
    ]
    refused = {
        "a group for a role the user does not hold": ["县工信局-承办"],
        "the right role in another organisation": ["研究院-定密"],
        "a group the map does not know": ["别的组"],
        "no groups at all": None,
        "groups that are no list of names": {"县工信局-定密": True},
    }
    for name, groups in refused.items():
        message = roles(mapped, provider.sign("rsa-1", groups=groups))
        assert isinstance(message, str), name
        assert "用户组" in message, (name, message)


def test_a_group_naming_the_supervisor_does_not_bypass_the_two_person_rule(
    provider: Provider, mapped: TestClient
) -> None:
    store = mapped.app.state.store  # type: ignore[attr-defined]
    register_person(store, NewPerson("p-qian-li", "钱立", "org-secrecy"), SYSTEM)
    command = NewUser(
        "p-qian-li",
        frozenset({Role.SUPERVISOR}),
        person_id="p-qian-li",
        supervises=frozenset({EVERY_ORGANISATION}),
    )
    grant = add_user(store, command).grant
    assert grant is not None
    assert grant.status.value == "PENDING"
    newcomer = provider.sign("rsa-1", sub="p-qian-li", groups=["保密局-监督", "全体-监督"])
    refusal = roles(mapped, newcomer)
    assert isinstance(refusal, str)
    assert "用户组" in refusal

    approver = provider.sign("rsa-1", sub="p-sun-hong", groups=["保密局-监督"])
    decided = mapped.post(
        "/graphql",
        json={"query": APPROVE, "variables": {"id": grant.id}},
        headers={"Authorization": f"Bearer {approver}"},
    ).json()["data"]["approveGrant"]
    assert decided["grant"]["status"] == "APPROVED", decided
    assert roles(mapped, newcomer) == ["SUPERVISOR"]  # approved by a second person, and the
    # directory still allows it
    left = provider.sign("rsa-1", sub="p-qian-li", groups=["县工信局-承办"])
    assert isinstance(roles(mapped, left), str)  # leaving the group takes it away at once


def test_a_provider_that_cannot_be_used_stops_the_service_at_start(
    provider: Provider, tmp_path: Path
) -> None:
    def refused(**changes: Any) -> InvalidValue:
        with pytest.raises(InvalidValue) as error:
            create_app(settings_for(provider, tmp_path, **changes))
        return error.value

    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()  # a free port nothing listens on
    nowhere = f"http://127.0.0.1:{port}{REALM}"
    unreachable = refused(oidc_issuer=nowhere)
    assert unreachable.field == "LINEAGE_OIDC_ISSUER"
    assert "无法从身份提供方取得发现文档" in str(unreachable)
    env = {"LINEAGE_OIDC_ISSUER": nowhere, "LINEAGE_JWT_AUDIENCE": AUDIENCE}
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    result = CliRunner().invoke(cli, ["serve", "--store", url], env=env)
    assert result.exit_code == 2, result.output  # a setting to correct, said in one sentence
    assert "LINEAGE_OIDC_ISSUER" in "".join(result.output.split()), result.output
    assert "Traceback" not in result.output

    plain = refused(oidc_issuer="http://sso.example/realms/agency")
    assert plain.field == "LINEAGE_OIDC_ISSUER"
    assert "HTTPS" in str(plain)

    provider.claimed_issuer = "https://sso.example/realms/agency"
    mismatch = refused()
    assert mismatch.field == "LINEAGE_OIDC_ISSUER"
    assert "不符" in str(mismatch)
    provider.claimed_issuer = None

    assert refused(jwt_audience=None).field == "LINEAGE_JWT_AUDIENCE"
    assert refused(jwt_algorithms=["HS256"]).field == "LINEAGE_JWT_ALGORITHMS"
    assert refused(jwt_key="x" * 40).field == "LINEAGE_JWT_KEY"

    for kid in list(provider.published):
        provider.remove(kid)
    provider.add_rsa("weak", bits=1024)
    provider.add_shared("shared-2")
    nothing = refused()
    assert nothing.field == "LINEAGE_OIDC_ISSUER"
    assert "没有可用的签名密钥" in str(nothing)


@pytest.mark.parametrize(
    ("group_map", "said"),
    [
        ('{"管理": {"roles": ["administrator", "handler"]}}', "三员分立"),
        ('{"x": {"roles": ["king"]}}', "未知"),
        ('{"x": {"roles": []}}', "非空列表"),
        ('{"x": {"roles": ["handler"], "organization": "org-county"}}', "organisation"),
        ("{not json", "JSON"),
        ("/nowhere/groups.json", "文件"),
    ],
)
def test_a_group_map_that_cannot_be_used_stops_the_service_at_start(
    provider: Provider, tmp_path: Path, group_map: str, said: str
) -> None:
    with pytest.raises(InvalidValue) as error:
        create_app(settings_for(provider, tmp_path, oidc_group_map=group_map))
    assert error.value.field == "LINEAGE_OIDC_GROUP_MAP"
    assert said in str(error.value)


def test_the_group_map_narrows_jwts_of_a_fixed_key_too(provider: Provider, tmp_path: Path) -> None:
    chosen = settings_for(
        provider,
        tmp_path,
        oidc_issuer=None,
        jwt_key=provider.public_pem("rsa-1").decode(),
        jwt_issuer=provider.issuer,
        oidc_group_map=json.dumps(GROUPS, ensure_ascii=False),  # JSON itself, not a file
    )
    with TestClient(create_app(chosen)) as client:
        assert roles(client, provider.sign("rsa-1", groups=["县工信局-定密"])) == ["OFFICIAL"]
        refusal = roles(client, provider.sign("rsa-1", groups=["县工信局-承办"]))
        assert isinstance(refusal, str)
        assert "用户组" in refusal
