"""Who may put a message in an inbox: verifiers of signed webhooks and bearer tokens.

Give one to ``deepslate.Ingress(verify=...)`` (every route) or in ``Ingress(routes={...})``
(some routes). A request that fails the check is answered ``401`` with the reason and is not
stored. Each verifier takes one secret or several: during a rotation the old and the new one
are both accepted. Comparisons are constant-time (``hmac.compare_digest``), and schemes that
sign a timestamp refuse one more than ``tolerance`` seconds (5 minutes) away from now, so a
captured request cannot be replayed later; within the window, a delivery id (``webhook-id``,
``X-GitHub-Delivery``) makes a repeat land once.

    StandardWebhooks("whsec_...")   webhook-id, webhook-timestamp, webhook-signature: v1,<base64>
    Stripe("whsec_...")             Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>]
    GitHub("secret")                X-Hub-Signature-256: sha256=<hex>
    Bearer("token")                 Authorization: Bearer <token>
"""
from __future__ import annotations

import abc
import base64
import binascii
import hashlib
import hmac
import time
from typing import Mapping, Sequence

TOLERANCE = 300.0          # seconds a signed timestamp may be off from now


class Unverified(Exception):
    """The request is not signed (or authorised) as configured; the message says why."""


def _secrets(kind: str, secret: str | bytes | Sequence[str | bytes]) -> list[str | bytes]:
    given = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    if not given:
        raise ValueError(f"{kind}: give at least one secret")
    for s in given:
        if not isinstance(s, (str, bytes)) or not s:
            raise ValueError(f"{kind}: a secret must be a non-empty str or bytes, not {s!r}")
    return given


def _key(s: str | bytes) -> bytes:
    return s if isinstance(s, bytes) else s.encode("utf-8")


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _any_equal(wanted: list[bytes], given: list[bytes]) -> bool:
    ok = False
    for w in wanted:               # every pair compared: the time does not tell which matched
        for g in given:
            ok |= hmac.compare_digest(w, g)
    return ok


def _fresh(scheme: str, stamp: str, tolerance: float, now: float | None) -> None:
    try:
        t = int(stamp)
    except ValueError:
        raise Unverified(f"{scheme}: the timestamp {stamp[:40]!r} is not a number of seconds") from None
    now = time.time() if now is None else now
    if abs(now - t) > tolerance:
        raise Unverified(f"{scheme}: the timestamp is {int(now - t)} s from now, outside the "
                         f"{int(tolerance)} s tolerance (a stale or replayed request)")


class Verifier(abc.ABC):
    """What the ingress asks of a request before it stores it."""
    id_header: str | None = None     # the scheme's delivery id, the default dedupe header
    needs_body = True                # False: the check reads headers only (done before the body)

    @abc.abstractmethod
    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
        """Return if the request passes; raise ``Unverified`` saying why not."""


class StandardWebhooks(Verifier):
    """Standard Webhooks (standardwebhooks.com): secrets ``whsec_<base64>``, HMAC-SHA256 of
    ``{webhook-id}.{webhook-timestamp}.{body}``, signatures ``v1,<base64>`` separated by spaces."""
    id_header = "webhook-id"

    def __init__(self, secret: str | bytes | Sequence[str | bytes], *, tolerance: float = TOLERANCE):
        self.keys = []
        for s in _secrets("StandardWebhooks", secret):
            if isinstance(s, bytes):
                self.keys.append(s)
                continue
            raw = s[len("whsec_"):] if s.startswith("whsec_") else s
            try:
                self.keys.append(base64.b64decode(raw, validate=True))
            except (binascii.Error, ValueError):
                raise ValueError("StandardWebhooks: a secret is 'whsec_' and base64 (or raw bytes); "
                                 "this one is not base64") from None
        self.tolerance = float(tolerance)

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
        mid, stamp, sig = (headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
        for name, v in (("webhook-id", mid), ("webhook-timestamp", stamp), ("webhook-signature", sig)):
            if not v:
                raise Unverified(f"Standard Webhooks: no {name} header")
        assert mid is not None and stamp is not None and sig is not None
        _fresh("Standard Webhooks", stamp, self.tolerance, now)
        given = []
        for part in sig.split(" "):
            version, _, value = part.partition(",")
            if version == "v1":
                try:
                    given.append(base64.b64decode(value, validate=True))
                except (binascii.Error, ValueError):
                    continue
        if not given:
            raise Unverified("Standard Webhooks: webhook-signature holds no v1 signature")
        signed = f"{mid}.{stamp}.".encode() + body
        if not _any_equal([_hmac(k, signed) for k in self.keys], given):
            raise Unverified("Standard Webhooks: the signature does not match the body")


class Stripe(Verifier):
    """Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>`` (several v1 allowed), HMAC-SHA256 of
    ``{t}.{body}`` keyed with the endpoint secret as given (``whsec_...``)."""
    id_header = None          # Stripe's event id is inside the body

    def __init__(self, secret: str | bytes | Sequence[str | bytes], *, tolerance: float = TOLERANCE):
        self.keys = [_key(s) for s in _secrets("Stripe", secret)]
        self.tolerance = float(tolerance)

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
        header = headers.get("Stripe-Signature")
        if not header:
            raise Unverified("Stripe: no Stripe-Signature header")
        stamp, given = None, []
        for item in header.split(","):
            k, _, v = item.strip().partition("=")
            if k == "t":
                stamp = v
            elif k == "v1":
                try:
                    given.append(bytes.fromhex(v))
                except ValueError:
                    continue
        if stamp is None:
            raise Unverified("Stripe: Stripe-Signature has no t= timestamp")
        if not given:
            raise Unverified("Stripe: Stripe-Signature has no v1= signature")
        _fresh("Stripe", stamp, self.tolerance, now)
        signed = stamp.encode() + b"." + body
        if not _any_equal([_hmac(k, signed) for k in self.keys], given):
            raise Unverified("Stripe: the signature does not match the body")


class GitHub(Verifier):
    """GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``. It signs no
    timestamp, so a captured delivery can be sent again: the ``X-GitHub-Delivery`` id (the
    default dedupe header) keeps a repeat from landing twice."""
    id_header = "X-GitHub-Delivery"

    def __init__(self, secret: str | bytes | Sequence[str | bytes]):
        self.keys = [_key(s) for s in _secrets("GitHub", secret)]

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
        header = headers.get("X-Hub-Signature-256")
        if not header:
            raise Unverified("GitHub: no X-Hub-Signature-256 header")
        algo, _, value = header.partition("=")
        try:
            given = bytes.fromhex(value)
        except ValueError:
            given = b""
        if algo != "sha256" or not given:
            raise Unverified("GitHub: X-Hub-Signature-256 is not 'sha256=<hex>'")
        if not _any_equal([_hmac(k, body) for k in self.keys], [given]):
            raise Unverified("GitHub: the signature does not match the body")


class Bearer(Verifier):
    """``Authorization: Bearer <token>``, checked before the body is read."""
    needs_body = False

    def __init__(self, token: str | Sequence[str]):
        tokens = _secrets("Bearer", token)
        for t in tokens:
            if not isinstance(t, str) or not t.isascii() or any(c.isspace() for c in t):
                raise ValueError("Bearer: a token is ASCII text without spaces")
        self.tokens = [_key(t) for t in tokens]

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
        header = headers.get("Authorization")
        if not header:
            raise Unverified("no Authorization header (Bearer token required)")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unverified("the Authorization header is not 'Bearer <token>'")
        if not _any_equal(self.tokens, [token.strip().encode("utf-8", "replace")]):
            raise Unverified("the bearer token is not valid")


__all__ = ["Verifier", "Unverified", "StandardWebhooks", "Stripe", "GitHub", "Bearer", "TOLERANCE"]
