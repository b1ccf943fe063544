"""Keys of an OpenID Connect provider: found through its discovery document at start-up, taken
from its JWKS, and fetched again when they may have changed (key rotation).

The guarantees of service.sso hold for each key: a key's algorithm is fixed by the key as the
provider publishes it (its `alg`, or its type and curve), never by a token's header, so a token
signed with HS256 and an RSA key's public bytes as its secret is refused; a symmetric (`oct`)
key in a JWKS, which anyone can read, is never used, nor an RSA key under 2048 bits, nor a
key for encryption. A token picks only which published key checks it, by its `kid`.

The keys are fetched again, in the request's worker thread, in two cases: a token names a
`kid` the service does not know (the provider has added a key), or the keys are older than
LINEAGE_OIDC_KEYS_MAX_AGE_SECONDS (the provider may have removed one). Either happens at most
once in LINEAGE_OIDC_REFRESH_SECONDS, whatever the tokens say: a flood of tokens with random
`kid`s costs the provider one request in that time, not one each. When the provider cannot be
reached, the keys last fetched stay in use and the failure is logged.

Discovery and the JWKS must be fetched over HTTPS, except from the loopback address (a
provider on the same machine, and the tests'): over plain HTTP anyone on the path could hand
the service keys of their own.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from graph.errors import InvalidValue
from service.config import Settings
from service.directory import group_map
from service.sso import EC_ALGORITHMS, MIN_RSA_BITS, RSA_ALGORITHMS, JwtSettings, VerifyingKey

log = logging.getLogger(__name__)

WELL_KNOWN = "/.well-known/openid-configuration"
MAX_DOCUMENT_BYTES = 1 << 20
# What each published key type may verify: the same families as service.sso, and no `oct`.
_FAMILIES: Mapping[str, frozenset[str]] = {
    "RSA": frozenset(RSA_ALGORITHMS),
    "EC": frozenset(EC_ALGORITHMS.values()),
    "OKP": frozenset({"EdDSA"}),
}
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


class Unreachable(Exception):
    """The provider did not answer with a usable document; the message says why, in Chinese."""


def check_url(url: str, setting: str) -> str:
    """`url` if it is HTTPS, or HTTP to the loopback address; InvalidValue otherwise."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and _loopback(host):
        return url
    raise InvalidValue(
        setting,
        f"{setting} 的地址「{url}」须使用 HTTPS（只有本机回环地址可用 HTTP）：经明文 HTTP 取得的"
        "签名密钥，途中任何人都能替换成自己的。",
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch_json(url: str, timeout: float) -> dict[str, Any]:
    """The JSON object at `url`, or Unreachable saying why."""
    # Only HTTPS, or HTTP to the loopback address, ever gets here (check_url).
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            final = response.geturl()
            if final != url:  # a redirect may not leave HTTPS either
                check_url(final, "LINEAGE_OIDC_ISSUER")
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except InvalidValue as error:
        raise Unreachable(f"{url} 被重定向到不安全的地址：{error}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise Unreachable(f"无法访问 {url}（{reason}）") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise Unreachable(f"{url} 返回的文档超过 {MAX_DOCUMENT_BYTES} 字节")
    try:
        document = json.loads(body)
    except ValueError:
        raise Unreachable(f"{url} 返回的不是 JSON") from None
    if not isinstance(document, dict):
        raise Unreachable(f"{url} 返回的不是 JSON 对象")
    return document


def discover(issuer: str, discovery_url: str | None, timeout: float) -> str:
    """The JWKS address the provider's discovery document gives, once the document is found
    to speak for `issuer` (OpenID Connect Discovery 1.0, section 4.3); InvalidValue naming the
    setting at fault, so that the service does not start."""
    check_url(issuer, "LINEAGE_OIDC_ISSUER")
    setting = "LINEAGE_OIDC_DISCOVERY_URL" if discovery_url else "LINEAGE_OIDC_ISSUER"
    url = check_url(discovery_url or issuer.rstrip("/") + WELL_KNOWN, setting)
    try:
        document = fetch_json(url, timeout)
    except Unreachable as error:
        raise InvalidValue(
            setting,
            f"无法从身份提供方取得发现文档：{error}。请确认 {setting} 正确、本服务能访问它。",
        ) from None
    if document.get("issuer") != issuer:
        raise InvalidValue(
            "LINEAGE_OIDC_ISSUER",
            f"身份提供方的发现文档（{url}）声明的签发者是「{document.get('issuer')}」，与 "
            f"LINEAGE_OIDC_ISSUER「{issuer}」不符：须完全相同（含末尾的斜杠），否则它的令牌"
            "不会被接受。",
        )
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise InvalidValue(
            "LINEAGE_OIDC_ISSUER", f"身份提供方的发现文档（{url}）没有给出 jwks_uri。"
        )
    return check_url(jwks_uri, "LINEAGE_OIDC_ISSUER")


def usable_keys(
    document: Mapping[str, Any], algorithms: tuple[str, ...] | None
) -> dict[str, jwt.PyJWK]:
    """The signing keys of a JWKS by `kid`, each with the algorithm its own type fixes; what
    cannot be used safely is left out (and logged)."""
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise Unreachable("JWKS 中没有 keys 列表")
    usable: dict[str, jwt.PyJWK] = {}
    for data in keys:
        if not isinstance(data, dict) or data.get("use") == "enc":
            continue  # an encryption key (Keycloak publishes one) is no concern of ours
        kid = data.get("kid")
        why = _unusable(data, algorithms)
        if why is None:
            try:
                key = jwt.PyJWK(data)
            except (jwt.PyJWTError, ValueError, TypeError) as error:
                why = f"无法读取（{error}）"
            else:
                why = _weak(key, algorithms)
                if why is None and isinstance(kid, str):
                    usable[kid] = key
        if why is not None:
            log.warning("身份提供方的密钥 %r 不予使用：%s。", kid, why)
    return usable


def _unusable(data: Mapping[str, Any], algorithms: tuple[str, ...] | None) -> str | None:
    kid, kty, alg = data.get("kid"), data.get("kty"), data.get("alg")
    if not isinstance(kid, str) or not kid:
        return "没有 kid"
    if data.get("use", "sig") != "sig":
        return "不是签名密钥"
    if "d" in data:
        return "是私钥（JWKS 只应公布公钥）"
    family = _FAMILIES.get(kty) if isinstance(kty, str) else None
    if family is None:
        return f"密钥类型 {kty!r} 不能验证签名（对称密钥不应公布）"
    if alg is not None and alg not in family:
        return f"算法 {alg!r} 与密钥类型 {kty} 不符"
    if kty == "EC" and alg is not None and data.get("crv") != _CURVES[alg]:
        return f"算法 {alg} 与曲线 {data.get('crv')!r} 不符"
    return None


def _weak(key: jwt.PyJWK, algorithms: tuple[str, ...] | None) -> str | None:
    if algorithms is not None and key.algorithm_name not in algorithms:
        return f"算法 {key.algorithm_name} 不在 LINEAGE_JWT_ALGORITHMS 中"
    if isinstance(key.key, rsa.RSAPublicKey) and key.key.key_size < MIN_RSA_BITS:
        return f"RSA 密钥只有 {key.key.key_size} 位"
    return None


class Jwks:
    """The provider's signing keys by `kid`, fetched again as the module's docstring says.
    Safe to use from several threads at once."""

    def __init__(
        self,
        url: str,
        *,
        refresh_seconds: float,
        max_age_seconds: float,
        timeout: float,
        algorithms: tuple[str, ...] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._refresh_seconds = refresh_seconds
        self._max_age = max_age_seconds
        self._timeout = timeout
        self._algorithms = algorithms
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -float("inf")
        self._tried_at = -float("inf")
        self._lock = threading.Lock()

    def load(self) -> None:
        """The first fetch, at start-up: InvalidValue when there is no usable key."""
        try:
            self._fetch()
        except Unreachable as error:
            raise InvalidValue(
                "LINEAGE_OIDC_ISSUER",
                f"无法从身份提供方取得签名密钥：{error}。请确认身份提供方在运行、本服务能访问它。",
            ) from None
        if not self._keys:
            raise InvalidValue(
                "LINEAGE_OIDC_ISSUER",
                f"身份提供方的 JWKS（{self.url}）中没有可用的签名密钥（RSA 2048 位以上、EC P-256/"
                "384/521 或 Ed25519），日志中列出了各密钥不予使用的原因。",
            )

    def key(self, kid: str) -> tuple[VerifyingKey, str] | None:
        """The key published under `kid` and the one algorithm it verifies, or None."""
        keys = self._keys
        if kid not in keys or self._clock() - self._fetched_at >= self._max_age:
            # Wait for a fetch under way only for a key not known yet; a known one is used
            # as it stands while another thread brings the keys up to date.
            self._refresh(wait=kid not in keys)
            keys = self._keys
        found = keys.get(kid)
        if found is None:
            return None
        verifying: VerifyingKey = found.key
        return verifying, found.algorithm_name

    def _refresh(self, *, wait: bool) -> None:
        if not self._lock.acquire(timeout=self._timeout + 1 if wait else 0):
            return
        try:
            if self._clock() - self._tried_at < self._refresh_seconds:
                return
            self._tried_at = self._clock()
            try:
                self._fetch()
            except Unreachable as error:
                log.warning("未能更新身份提供方的签名密钥，沿用上次取得的：%s。", error)
        finally:
            self._lock.release()

    def _fetch(self) -> None:
        self._tried_at = self._clock()
        self._keys = usable_keys(fetch_json(self.url, self._timeout), self._algorithms)
        self._fetched_at = self._clock()


def oidc_settings(settings: Settings) -> JwtSettings:
    """JWT verification by the keys of the provider at LINEAGE_OIDC_ISSUER, fetched now: the
    service does not start without them (InvalidValue naming the setting)."""
    issuer = settings.oidc_issuer or ""
    if settings.jwt_key:
        raise InvalidValue(
            "LINEAGE_JWT_KEY",
            "LINEAGE_JWT_KEY 与 LINEAGE_OIDC_ISSUER 只能设置其一：密钥要么是固定的一把，要么取自"
            "身份提供方。",
        )
    if settings.jwt_issuer and settings.jwt_issuer != issuer:
        raise InvalidValue(
            "LINEAGE_JWT_ISSUER",
            "设置了 LINEAGE_OIDC_ISSUER 时，签发者即是它：LINEAGE_JWT_ISSUER 应不设置或与之相同。",
        )
    if not settings.jwt_audience:
        raise InvalidValue(
            "LINEAGE_JWT_AUDIENCE",
            "配置了 LINEAGE_OIDC_ISSUER 时须同时配置受众 LINEAGE_JWT_AUDIENCE（本服务在身份提供方"
            "的客户端标识）：不核对受众，同一身份提供方为其他应用签发的 JWT 也能登录本服务。",
        )
    algorithms = _narrowed(settings.jwt_algorithms)
    jwks = Jwks(
        discover(issuer, settings.oidc_discovery_url, settings.oidc_timeout_seconds),
        refresh_seconds=settings.oidc_refresh_seconds,
        max_age_seconds=settings.oidc_keys_max_age_seconds,
        timeout=settings.oidc_timeout_seconds,
        algorithms=algorithms,
    )
    jwks.load()
    verification = JwtSettings(
        None,
        issuer,
        settings.jwt_audience,
        algorithms or (),
        settings.jwt_user_claim,
        keys=jwks,
    )
    return with_groups(verification, settings)


def _narrowed(algorithms: list[str] | None) -> tuple[str, ...] | None:
    if algorithms is None:
        return None
    admitted = sorted(frozenset().union(*_FAMILIES.values()))
    chosen = tuple(dict.fromkeys(algorithms))
    for name in chosen:
        if name not in admitted:
            raise InvalidValue(
                "LINEAGE_JWT_ALGORITHMS",
                f"LINEAGE_JWT_ALGORITHMS 中的「{name}」不能用于身份提供方公布的密钥：只允许 "
                f"{'、'.join(admitted)}（公布的对称密钥人人可读，从不使用）。",
            )
    if not chosen:
        raise InvalidValue("LINEAGE_JWT_ALGORITHMS", "LINEAGE_JWT_ALGORITHMS 不能为空。")
    return chosen


def with_groups(verification: JwtSettings, settings: Settings) -> JwtSettings:
    """`verification` with the map of groups that narrows roles, where one is configured."""
    if not settings.oidc_group_map:
        return verification
    return replace(
        verification, groups=group_map(settings.oidc_group_map, settings.oidc_groups_claim)
    )
