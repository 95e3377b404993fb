"""Webhook signatures in the Standard Webhooks style.

Three headers travel with each POST: `webhook-id` (the alert id, stable across retries so receivers can
dedupe), `webhook-timestamp` (integer epoch seconds of this attempt) and `webhook-signature`, a
space-separated list of `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per secret. Signing
with both the new and the old secret during a rotation lets receivers that know either accept the message.

Secrets are used as UTF-8 bytes, or, when written `whsec_<base64>` (the Standard Webhooks form), as the
decoded bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SIGNATURE_VERSION = "v1"


class SignatureError(ValueError):
    """A request whose signature does not verify; `reason` is a short, fixed token for logs and metrics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a configured secret.

    >>> secret_bytes("s3cret")
    b's3cret'
    >>> secret_bytes("whsec_" + base64.b64encode(b"raw key").decode())
    b'raw key'
    """
    if not secret:
        raise ValueError("an empty signing secret is not allowed")
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error as error:
            raise ValueError("a whsec_ secret must be base64 after the prefix") from error
    return secret.encode()


def compute_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class WebhookSigner:
    """Signs outgoing webhook bodies with every configured secret (the first is the current one).

    >>> signer = WebhookSigner(["new-secret", "old-secret"])
    >>> headers = signer.headers("maintenance-abc", b'{"a":1}', timestamp=1_700_000_000)
    >>> headers["webhook-timestamp"], headers["webhook-signature"].count("v1,")
    ('1700000000', 2)
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ValueError("WebhookSigner needs at least one secret")
        for secret in secrets:
            secret_bytes(secret)
        self.secrets = list(secrets)

    def headers(self, message_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = int(time.time()) if timestamp is None else int(timestamp)
        signatures = " ".join(
            f"{SIGNATURE_VERSION},{compute_signature(secret, message_id, stamp, body)}"
            for secret in self.secrets
        )
        return {ID_HEADER: message_id, TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: signatures}


class WebhookVerifier:
    """Verifies incoming webhooks: any listed signature matching any accepted secret, within the tolerance.

    Comparison is constant time (`hmac.compare_digest`), and every candidate is compared, so timing says
    nothing about which secret or signature nearly matched.

    >>> signer, verifier = WebhookSigner(["k2"]), WebhookVerifier(["k1", "k2"], tolerance_seconds=300)
    >>> body = b'{"alert_id":"x"}'
    >>> headers = signer.headers("x", body, timestamp=1_700_000_000)
    >>> verifier.verify(headers, body, now=1_700_000_100)
    'x'
    >>> verifier.verify(headers, body + b" ", now=1_700_000_100)
    Traceback (most recent call last):
    ...
    consumers.alerting.signing.SignatureError: no signature matches the body
    """

    def __init__(self, secrets: Sequence[str], tolerance_seconds: float = 300.0) -> None:
        if not secrets:
            raise ValueError("WebhookVerifier needs at least one secret")
        self._keys = [secret_bytes(secret) for secret in secrets]
        self.tolerance_seconds = tolerance_seconds

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> str:
        """The message id when the request is authentic; raises SignatureError otherwise."""
        lowered = {name.lower(): value for name, value in headers.items()}
        message_id = lowered.get(ID_HEADER)
        timestamp_text = lowered.get(TIMESTAMP_HEADER)
        signature_header = lowered.get(SIGNATURE_HEADER)
        if not message_id or not timestamp_text or not signature_header:
            raise SignatureError(
                "missing_headers", "webhook-id, webhook-timestamp and webhook-signature are required"
            )
        try:
            timestamp = int(timestamp_text)
        except ValueError as error:
            raise SignatureError(
                "bad_timestamp", f"webhook-timestamp is not an integer: {timestamp_text!r}"
            ) from error
        current = time.time() if now is None else now
        if abs(current - timestamp) > self.tolerance_seconds:
            raise SignatureError(
                "timestamp_out_of_tolerance",
                f"webhook-timestamp {timestamp} is {current - timestamp:+.0f}s from now "
                f"(tolerance {self.tolerance_seconds:.0f}s)",
            )
        offered: list[bytes] = []
        for item in signature_header.split():
            version, _, encoded = item.partition(",")
            if version == SIGNATURE_VERSION and encoded:
                offered.append(encoded.encode())
        if not offered:
            raise SignatureError("no_v1_signature", "webhook-signature holds no v1 signature")
        signed = f"{message_id}.{timestamp}.".encode() + body
        matched = False
        for key in self._keys:
            expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
            for candidate in offered:
                # No early exit: the work done does not depend on which pair matches.
                matched |= hmac.compare_digest(expected, candidate)
        if not matched:
            raise SignatureError("signature_mismatch", "no signature matches the body")
        return message_id
