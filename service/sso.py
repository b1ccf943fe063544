"""The key of single sign-on, read once at start-up: what it is decides which JWT algorithms
the service accepts, so that no token can choose how it is checked.

An RSA public key verifies RS256/384/512 and PS256/384/512 (both need its private key to
sign); an elliptic-curve key the one ES algorithm of its curve; an Ed25519 or Ed448 key
EdDSA; a shared secret (anything that is not PEM) HS256, and HS384 and HS512 only when it is
as long as their digests (RFC 7518, section 3.2). LINEAGE_JWT_ALGORITHMS may narrow that
family, never leave it: otherwise a token signed with HS256 and the public key's own bytes as
its secret (the algorithm-confusion attack) would be checked against what anyone may read.
Every JWT must name the service's audience as well as the issuer: without `aud`, a token
that the same single sign-on issued to another application would open this one.

In place of one key, the keys may be those an OpenID Connect provider publishes
(service.oidc), with the same guarantee for each: its own type fixes its algorithm, and a
token's `kid` only picks which published key checks it. Its groups may narrow the user's
roles (service.directory).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from graph.errors import InvalidValue

if TYPE_CHECKING:
    from service.directory import GroupMap

VerifyingKey = (
    rsa.RSAPublicKey
    | ec.EllipticCurvePublicKey
    | ed25519.Ed25519PublicKey
    | ed448.Ed448PublicKey
    | bytes
)

RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
# HMAC algorithm: the fewest bytes of secret it takes, the length of its digest.
HMAC_ALGORITHMS = {"HS256": 32, "HS384": 48, "HS512": 64}
MIN_RSA_BITS = 2048
MIN_SECRET_BYTES = HMAC_ALGORITHMS["HS256"]


class KeySource(Protocol):
    """Published keys by `kid` (service.oidc.Jwks)."""

    def key(self, kid: str) -> tuple[VerifyingKey, str] | None:
        """The key published under `kid` and the one algorithm its type fixes, or None."""


@dataclass(frozen=True)
class JwtSettings:
    """Verification of JWTs from a single sign-on service: the key, loaded, and the algorithms
    it admits, or the keys a provider publishes; the issuer that must have signed; the
    audience (this service) the token must name; the claim that carries the user id; and the
    map of groups that narrows the user's roles, if any."""

    key: VerifyingKey | None
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    user_claim: str = "sub"
    leeway_seconds: int = 30
    keys: KeySource | None = None
    groups: GroupMap | None = None

    def verifying(self, token: str) -> tuple[VerifyingKey, list[str]]:
        """The key that is to check `token` and the algorithms it admits; jwt.PyJWTError when
        no key may (a token from a provider that names no key, or one it does not publish)."""
        if self.keys is None:
            if self.key is None:
                raise jwt.InvalidKeyError("no key")
            return self.key, list(self.algorithms)
        kid = jwt.get_unverified_header(token).get("kid")
        if not isinstance(kid, str) or not kid:
            raise jwt.InvalidTokenError("no kid")
        found = self.keys.key(kid)
        if found is None:
            raise jwt.InvalidKeyError("unknown kid")
        return found[0], [found[1]]


@dataclass(frozen=True)
class _Family:
    """What a key is, for people, and the algorithms it may verify."""

    kind: str
    algorithms: tuple[str, ...]
    note: str = ""


def jwt_settings(
    key: str,
    issuer: str | None,
    audience: str | None,
    algorithms: list[str] | None = None,
    user_claim: str = "sub",
) -> JwtSettings:
    """The verification that the settings describe, or InvalidValue naming the setting at
    fault: the service does not start with a key it cannot use safely."""
    if not issuer:
        raise InvalidValue(
            "LINEAGE_JWT_ISSUER", "配置了 LINEAGE_JWT_KEY 时须同时配置签发者 LINEAGE_JWT_ISSUER。"
        )
    if not audience:
        raise InvalidValue(
            "LINEAGE_JWT_AUDIENCE",
            "配置了 LINEAGE_JWT_KEY 时须同时配置受众 LINEAGE_JWT_AUDIENCE（本服务在单点登录中的"
            "标识）：不核对受众，同一单点登录为其他应用签发的 JWT 也能登录本服务。",
        )
    loaded, family = _loaded(key)
    chosen = tuple(dict.fromkeys(algorithms)) if algorithms is not None else family.algorithms
    if not chosen:
        raise InvalidValue(
            "LINEAGE_JWT_ALGORITHMS",
            f"LINEAGE_JWT_ALGORITHMS 不能为空；不设置则为此密钥允许的全部算法："
            f"{'、'.join(family.algorithms)}。",
        )
    for name in chosen:
        if name not in family.algorithms:
            raise InvalidValue(
                "LINEAGE_JWT_ALGORITHMS",
                f"LINEAGE_JWT_ALGORITHMS 中的「{name}」不能用于 LINEAGE_JWT_KEY 的{family.kind}："
                f"此密钥只允许 {'、'.join(family.algorithms)}{family.note}。"
                "算法由密钥的类型决定，以防令牌自选验证方式（算法混淆攻击）。",
            )
        try:  # PyJWT's own checks of the key for the algorithm, once, here
            jwt.get_algorithm_by_name(name).prepare_key(loaded)
        except (jwt.InvalidKeyError, ValueError, TypeError) as error:
            raise InvalidValue(
                "LINEAGE_JWT_KEY", f"LINEAGE_JWT_KEY 不能用于 {name}（{error}）。"
            ) from None
    return JwtSettings(loaded, issuer, audience, chosen, user_claim)


def _loaded(key: str) -> tuple[VerifyingKey, _Family]:
    text = key.strip()
    if text.startswith(("ssh-", "ecdsa-sha2-")):
        raise InvalidValue(
            "LINEAGE_JWT_KEY", "LINEAGE_JWT_KEY 看似 SSH 公钥：请改用 PEM 格式的公钥。"
        )
    if not text.startswith("-----BEGIN"):
        return _secret(key.encode())
    if "PRIVATE KEY-----" in text:
        raise InvalidValue(
            "LINEAGE_JWT_KEY",
            "LINEAGE_JWT_KEY 是私钥：本服务只需单点登录的公钥，私钥不应交给它。",
        )
    try:
        public = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError):
        raise InvalidValue(
            "LINEAGE_JWT_KEY",
            "LINEAGE_JWT_KEY 以 -----BEGIN 开头，却不是可读取的 PEM 公钥（RSA、EC、Ed25519 或 "
            "Ed448）。",
        ) from None
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < MIN_RSA_BITS:
            raise InvalidValue(
                "LINEAGE_JWT_KEY",
                f"LINEAGE_JWT_KEY 的 RSA 公钥只有 {public.key_size} 位，"
                f"至少应为 {MIN_RSA_BITS} 位。",
            )
        return public, _Family("RSA 公钥", RSA_ALGORITHMS)
    if isinstance(public, ec.EllipticCurvePublicKey):
        algorithm = EC_ALGORITHMS.get(public.curve.name)
        if algorithm is None:
            raise InvalidValue(
                "LINEAGE_JWT_KEY",
                f"LINEAGE_JWT_KEY 的椭圆曲线 {public.curve.name} 不受支持："
                "应为 P-256、P-384 或 P-521。",
            )
        return public, _Family(f"{public.curve.name} 椭圆曲线公钥", (algorithm,))
    if isinstance(public, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return public, _Family("EdDSA 公钥", ("EdDSA",))
    raise InvalidValue(
        "LINEAGE_JWT_KEY",
        f"LINEAGE_JWT_KEY 的公钥类型（{type(public).__name__}）不能验证 JWT 的签名："
        "应为 RSA、EC、Ed25519 或 Ed448 公钥。",
    )


def _secret(secret: bytes) -> tuple[bytes, _Family]:
    if len(secret) < MIN_SECRET_BYTES:
        raise InvalidValue(
            "LINEAGE_JWT_KEY",
            f"LINEAGE_JWT_KEY 作为共享密钥只有 {len(secret)} 字节，至少应为 {MIN_SECRET_BYTES} "
            "字节：HS256 的密钥不得短于其 256 位摘要（RFC 7518 第 3.2 节），更短的密钥可凭截获的"
            "任一 JWT 离线穷举出来，从而为任何用户签发令牌。",
        )
    admitted = tuple(name for name, least in HMAC_ALGORITHMS.items() if len(secret) >= least)
    return secret, _Family(
        f"{len(secret)} 字节的共享密钥",
        admitted,
        "（HS384、HS512 的共享密钥须分别不短于 48、64 字节）" if len(admitted) < 3 else "",
    )
