"""Standard Webhooks signatures (service.signature) against the specification's published test
vector, which the reference libraries check themselves against
(standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py,
test_sign_function): a round trip through our own verifier would pass with the delimiter, the
base64 alphabet or the key's decoding all wrong; reproducing their signature says that a
receiver's library accepts ours. And the back-off between attempts (service.dispatcher)."""

from __future__ import annotations

import base64

from service.dispatcher import Policy, backoff
from service.signature import KEY_BYTES, PREFIX, headers, key_of, new_secret, sign

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specification_test_vector_is_reproduced() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_three_headers_carry_id_timestamp_and_signature() -> None:
    assert headers(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }


def test_a_changed_body_id_or_timestamp_changes_the_signature() -> None:
    signed = {
        sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY + b" "),
        sign(VECTOR_SECRET, VECTOR_ID + "x", VECTOR_TIMESTAMP, VECTOR_BODY),
        sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP + 1, VECTOR_BODY),
    }
    assert VECTOR_SIGNATURE not in signed
    assert len(signed) == 3


def test_a_new_secret_is_whsec_and_the_base64_of_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith(PREFIX)
    assert first != second
    assert len(key_of(first)) == KEY_BYTES
    assert base64.b64encode(key_of(first)).decode() == first.removeprefix(PREFIX)


def test_the_back_off_doubles_up_to_its_cap_with_half_of_it_drawn() -> None:
    policy = Policy(backoff_seconds=30, cap_seconds=600)
    assert [backoff(n, policy, lambda: 0.0) for n in (1, 2, 3, 4, 5, 6)] == [
        15,
        30,
        60,
        120,
        240,
        300,
    ]
    # The drawn half: all of it at the top of the draw's range.
    assert [backoff(n, policy, lambda: 1.0) for n in (1, 2, 6)] == [30, 60, 600]
