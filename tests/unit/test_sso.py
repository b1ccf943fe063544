"""The key of single sign-on decides the JWT algorithms (service.sso): each kind of key admits
its own family, the settings may narrow it and never leave it, and a key or a setting that
cannot be used safely stops the service at start-up with a message naming the setting."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from graph.errors import InvalidValue
from service.sso import jwt_settings

ISSUER = "https://sso.example"
AUDIENCE = "lineage"
SECRET = "s" * 32


def pem(private: PrivateKeyTypes) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def refusal(key: str, algorithms: list[str] | None = None) -> InvalidValue:
    with pytest.raises(InvalidValue) as refused:
        jwt_settings(key, ISSUER, AUDIENCE, algorithms)
    return refused.value


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    return pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def test_each_kind_of_key_admits_its_own_family(rsa_pem: str) -> None:
    families = {
        rsa_pem: ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
        pem(ec.generate_private_key(ec.SECP256R1())): ("ES256",),
        pem(ec.generate_private_key(ec.SECP384R1())): ("ES384",),
        pem(ec.generate_private_key(ec.SECP521R1())): ("ES512",),
        pem(ed25519.Ed25519PrivateKey.generate()): ("EdDSA",),
        pem(ed448.Ed448PrivateKey.generate()): ("EdDSA",),
        SECRET: ("HS256",),
        "s" * 48: ("HS256", "HS384"),
        "密" * 22: ("HS256", "HS384", "HS512"),  # 66 bytes in UTF-8
    }
    for key, family in families.items():
        settings = jwt_settings(key, ISSUER, AUDIENCE)
        assert settings.algorithms == family, key
        assert (settings.issuer, settings.audience) == (ISSUER, AUDIENCE)
    # Loaded once: a key object, or the secret's bytes, not the text to parse per request.
    assert isinstance(jwt_settings(rsa_pem, ISSUER, AUDIENCE).key, rsa.RSAPublicKey)
    assert jwt_settings(SECRET, ISSUER, AUDIENCE).key == SECRET.encode()


def test_the_algorithms_may_narrow_the_family_never_leave_it(rsa_pem: str) -> None:
    assert jwt_settings(rsa_pem, ISSUER, AUDIENCE, ["RS256", "RS256"]).algorithms == ("RS256",)
    assert jwt_settings("s" * 64, ISSUER, AUDIENCE, ["HS512"]).algorithms == ("HS512",)
    for key, algorithms, wrong in (
        (rsa_pem, ["RS256", "HS256"], "HS256"),  # the mixed list that once answered 500
        (rsa_pem, ["ES256"], "ES256"),
        (rsa_pem, ["none"], "none"),
        (pem(ec.generate_private_key(ec.SECP256R1())), ["ES384"], "ES384"),
        (pem(ed25519.Ed25519PrivateKey.generate()), ["RS256"], "RS256"),
        (SECRET, ["RS256"], "RS256"),
        (SECRET, ["HS512"], "HS512"),  # 32 bytes are too few for SHA-512's 64
    ):
        refused = refusal(key, algorithms)
        assert refused.field == "LINEAGE_JWT_ALGORITHMS"
        assert f"「{wrong}」" in str(refused)
        assert "算法混淆" in str(refused)
    assert "不能为空" in str(refusal(rsa_pem, []))


def test_keys_that_cannot_be_used_safely_are_refused(rsa_pem: str) -> None:
    short = refusal("a-secret-of-31-bytes-0123456789")
    assert short.field == "LINEAGE_JWT_KEY"
    assert "只有 31 字节，至少应为 32 字节" in str(short)
    assert "RFC 7518" in str(short)
    weak = pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505
    assert "至少应为 2048 位" in str(refusal(weak))
    private = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert "是私钥" in str(refusal(private.decode()))
    broken = "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n"
    assert "不是可读取的 PEM 公钥" in str(refusal(broken))
    assert "SSH 公钥" in str(refusal("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + "A" * 40))
    odd_curve = pem(ec.generate_private_key(ec.SECP256K1()))
    assert "secp256k1 不受支持" in str(refusal(odd_curve))
    assert "不能验证 JWT 的签名" in str(refusal(pem(dsa.generate_private_key(key_size=2048))))


def test_the_issuer_and_the_audience_are_required(rsa_pem: str) -> None:
    for issuer, audience, setting in (
        (None, AUDIENCE, "LINEAGE_JWT_ISSUER"),
        (ISSUER, None, "LINEAGE_JWT_AUDIENCE"),
        (ISSUER, "", "LINEAGE_JWT_AUDIENCE"),
    ):
        with pytest.raises(InvalidValue) as refused:
            jwt_settings(rsa_pem, issuer, audience)
        assert refused.value.field == setting
        assert setting in str(refused.value)
