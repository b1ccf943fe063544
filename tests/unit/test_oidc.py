"""What the service takes from an OpenID Connect provider's JWKS (service.oidc) and from a map
of its groups (service.directory), without I/O: each published key verifies the one
algorithm its own type fixes, what cannot be used safely is left out, addresses must be
HTTPS but for the loopback, and a group map that cannot be used stops the service."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from graph.access import Role
from graph.errors import InvalidValue
from service.directory import Group, GroupMap, group_map
from service.oidc import check_url, usable_keys


@pytest.fixture(scope="module")
def rsa_jwk() -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)


@pytest.fixture(scope="module")
def ec_jwk() -> dict[str, Any]:
    return ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key(), as_dict=True)


def kept(*keys: dict[str, Any], algorithms: tuple[str, ...] | None = None) -> dict[str, str]:
    return {k: v.algorithm_name for k, v in usable_keys({"keys": list(keys)}, algorithms).items()}


def test_each_key_verifies_the_algorithm_its_type_fixes(
    rsa_jwk: dict[str, Any], ec_jwk: dict[str, Any]
) -> None:
    okp = OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate().public_key(), as_dict=True)
    assert kept(
        {**rsa_jwk, "kid": "r"},
        {**rsa_jwk, "kid": "p", "alg": "PS384"},
        {**ec_jwk, "kid": "e"},
        {**okp, "kid": "o"},
    ) == {"r": "RS256", "p": "PS384", "e": "ES384", "o": "EdDSA"}


def test_what_cannot_be_used_safely_is_left_out(
    rsa_jwk: dict[str, Any], ec_jwk: dict[str, Any]
) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (refused)
    private = RSAAlgorithm.to_jwk(
        rsa.generate_private_key(public_exponent=65537, key_size=2048), as_dict=True
    )
    assert (
        kept(
            {"kty": "oct", "kid": "shared", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"},
            {**rsa_jwk, "kid": "as-hmac", "alg": "HS256"},
            {**rsa_jwk, "kid": "as-ec", "alg": "ES256"},
            {**ec_jwk, "kid": "wrong-curve", "alg": "ES256"},
            {**rsa_jwk, "kid": "for-encryption", "use": "enc"},
            {**rsa_jwk, "alg": "RS256"},  # no kid
            {**rsa_jwk, "kid": 7},
            {**RSAAlgorithm.to_jwk(weak.public_key(), as_dict=True), "kid": "weak"},
            {**private, "kid": "private"},
            {"kty": "RSA", "kid": "broken", "n": "AQAB", "e": "!!"},
            {"kty": "XYZ", "kid": "unknown"},
        )
        == {}
    )
    narrowed = kept({**rsa_jwk, "kid": "r"}, {**ec_jwk, "kid": "e"}, algorithms=("ES384",))
    assert narrowed == {"e": "ES384"}


def test_keys_come_over_https_or_from_the_loopback_only() -> None:
    for url in (
        "https://sso.example/realms/a",
        "http://127.0.0.1:8080/realms/a",
        "http://localhost/x",
        "http://[::1]:9/x",
    ):
        assert check_url(url, "S") == url
    for url in ("http://sso.example/x", "http://10.0.0.1/x", "file:///etc/passwd", "https://"):
        with pytest.raises(InvalidValue) as refused:
            check_url(url, "LINEAGE_OIDC_ISSUER")
        assert refused.value.field == "LINEAGE_OIDC_ISSUER"


def test_a_group_allows_its_roles_in_its_organisation_only() -> None:
    groups = group_map(
        '{"定密": {"roles": ["official", "HANDLER"], "organisation": "org-a"},'
        ' "监督": {"roles": ["supervisor"]}}',
        claim="roles_of",
    )
    assert groups == GroupMap(
        {
            "定密": Group(frozenset({Role.OFFICIAL, Role.HANDLER}), "org-a"),
            "监督": Group(frozenset({Role.SUPERVISOR})),
        },
        "roles_of",
    )
    assert groups.roles({"roles_of": ["定密"]}, "org-a") == {Role.OFFICIAL, Role.HANDLER}
    assert groups.roles({"roles_of": ["定密"]}, "org-b") == frozenset()
    assert groups.roles({"roles_of": ["定密", "监督"]}, None) == {Role.SUPERVISOR}
    assert groups.roles({"groups": ["定密"]}, "org-a") == frozenset()  # another claim
    assert groups.roles({"roles_of": [["定密"], 1, None]}, "org-a") == frozenset()
