"""Signatures of outbound webhooks, as the Standard Webhooks specification has them
(https://www.standardwebhooks.com): three headers, `webhook-id` (the message, the same on
every attempt), `webhook-timestamp` (seconds since the epoch, of this attempt) and
`webhook-signature`, `v1,` and the base64 of HMAC-SHA256 over `id.timestamp.body` with the
endpoint's key. The secret is `whsec_` and the base64 of that key (32 random bytes here), so
that a receiver's Standard Webhooks library takes it as it is."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
KEY_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_of(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX), validate=True)


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_of(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
