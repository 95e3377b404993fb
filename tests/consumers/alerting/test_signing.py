"""Standard Webhooks signatures: valid, tampered, rotated, stale."""

from __future__ import annotations

import base64

import pytest

from consumers.alerting.signing import SignatureError, WebhookSigner, WebhookVerifier, compute_signature

BODY = b'{"alert_id":"fraud-1","score":0.97}'
NOW = 1_800_000_000


def test_valid_signature_verifies_and_matches_the_documented_formula() -> None:
    headers = WebhookSigner(["secret"]).headers("fraud-1", BODY, timestamp=NOW)
    assert WebhookVerifier(["secret"]).verify(headers, BODY, now=NOW) == "fraud-1"
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(b"secret", f"fraud-1.{NOW}.".encode() + BODY, hashlib.sha256).digest()
    )
    assert headers["webhook-signature"] == f"v1,{expected.decode()}"


@pytest.mark.parametrize(
    "body",
    [BODY.replace(b"0.97", b"0.07"), BODY + b" ", b"", BODY[:-1]],
    ids=["value", "space", "empty", "cut"],
)
def test_tampered_body_is_rejected(body: bytes) -> None:
    headers = WebhookSigner(["secret"]).headers("fraud-1", BODY, timestamp=NOW)
    with pytest.raises(SignatureError) as raised:
        WebhookVerifier(["secret"]).verify(headers, body, now=NOW)
    assert raised.value.reason == "signature_mismatch"


def test_tampered_id_or_timestamp_is_rejected() -> None:
    headers = WebhookSigner(["secret"]).headers("fraud-1", BODY, timestamp=NOW)
    for name, value in (("webhook-id", "fraud-2"), ("webhook-timestamp", str(NOW + 1))):
        with pytest.raises(SignatureError, match="no signature matches"):
            WebhookVerifier(["secret"]).verify({**headers, name: value}, BODY, now=NOW)


def test_wrong_secret_is_rejected() -> None:
    headers = WebhookSigner(["other"]).headers("fraud-1", BODY, timestamp=NOW)
    with pytest.raises(SignatureError):
        WebhookVerifier(["secret"]).verify(headers, BODY, now=NOW)


def test_rotation_both_directions() -> None:
    # Sender already on the new secret, receiver accepting new and old.
    headers = WebhookSigner(["new"]).headers("a", BODY, timestamp=NOW)
    assert WebhookVerifier(["old", "new"]).verify(headers, BODY, now=NOW) == "a"
    # Sender signing with both, receiver still on the old one: the space-separated list carries both.
    headers = WebhookSigner(["new", "old"]).headers("a", BODY, timestamp=NOW)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert WebhookVerifier(["old"]).verify(headers, BODY, now=NOW) == "a"


def test_timestamp_tolerance() -> None:
    verifier = WebhookVerifier(["secret"], tolerance_seconds=300)
    headers = WebhookSigner(["secret"]).headers("a", BODY, timestamp=NOW)
    assert verifier.verify(headers, BODY, now=NOW + 299) == "a"
    assert verifier.verify(headers, BODY, now=NOW - 299) == "a"
    for now in (NOW + 301, NOW - 301):
        with pytest.raises(SignatureError) as raised:
            verifier.verify(headers, BODY, now=now)
        assert raised.value.reason == "timestamp_out_of_tolerance"


def test_malformed_headers() -> None:
    verifier = WebhookVerifier(["secret"])
    good = WebhookSigner(["secret"]).headers("a", BODY, timestamp=NOW)
    cases = {
        "missing_headers": {k: v for k, v in good.items() if k != "webhook-signature"},
        "bad_timestamp": {**good, "webhook-timestamp": "soon"},
        "no_v1_signature": {**good, "webhook-signature": "v2,abc v1,"},
    }
    for reason, headers in cases.items():
        with pytest.raises(SignatureError) as raised:
            verifier.verify(headers, BODY, now=NOW)
        assert raised.value.reason == reason


def test_header_names_are_case_insensitive_and_whsec_secrets_decode() -> None:
    secret = "whsec_" + base64.b64encode(b"\x00\x01binary-key").decode()
    headers = {k.upper(): v for k, v in WebhookSigner([secret]).headers("a", BODY, timestamp=NOW).items()}
    assert WebhookVerifier([secret]).verify(headers, BODY, now=NOW) == "a"
    assert compute_signature(secret, "a", NOW, BODY) != compute_signature("binary-key", "a", NOW, BODY)


def test_empty_secrets_are_refused() -> None:
    with pytest.raises(ValueError):
        WebhookSigner([])
    with pytest.raises(ValueError):
        WebhookSigner([""])
    with pytest.raises(ValueError):
        WebhookVerifier([])
