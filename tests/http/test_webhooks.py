"""Signed requests and delivery ids: every expected signature is computed here with hmac and
hashlib, apart from the verifiers, plus the schemes' published example vectors."""
import asyncio
import base64
import hashlib
import hmac
import time

import pytest
from yarl import URL

import listenflows as hf
from deepslate import webhooks
from deepslate.webhooks import Bearer, GitHub, StandardWebhooks, Stripe, Unverified

WH_KEY = b"0123456789abcdef0123456789abcdef"
WH_SECRET = "whsec_" + base64.b64encode(WH_KEY).decode()


def std_headers(body, key=WH_KEY, mid="msg_1", ts=None):
    ts = str(int(time.time()) if ts is None else ts)
    sig = base64.b64encode(hmac.new(key, f"{mid}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return {"webhook-id": mid, "webhook-timestamp": ts, "webhook-signature": f"v1,{sig}"}


def stripe_headers(body, secret="whsec_stripe", ts=None, extra=()):
    ts = str(int(time.time()) if ts is None else ts)
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": ",".join([f"t={ts}", *extra, f"v1={sig}"])}


def github_headers(body, secret="gh-secret", delivery="d-1"):
    sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={sig}", "X-GitHub-Delivery": delivery}


# -- the schemes' published examples ----------------------------------------------------------

def test_standard_webhooks_published_example():
    # the example of the Standard Webhooks specification (standard-webhooks.md, "Verifying")
    v = StandardWebhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    v.verify(headers, b'{"test": 2432232314}', now=1614265330)
    with pytest.raises(Unverified, match="does not match"):
        v.verify(headers, b'{"test": 2432232315}', now=1614265330)
    with pytest.raises(Unverified, match="outside the 300 s tolerance"):
        v.verify(headers, b'{"test": 2432232314}', now=1614265330 + 301)


def test_github_published_example():
    # GitHub's "Validating webhook deliveries" test values
    v = GitHub("It's a Secret to Everybody")
    sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    v.verify({"X-Hub-Signature-256": sig}, b"Hello, World!")
    with pytest.raises(Unverified, match="does not match"):
        v.verify({"X-Hub-Signature-256": sig}, b"Hello, World?")


# -- each scheme, offline -----------------------------------------------------------------------

def test_standard_webhooks_accepts_any_of_several_signatures_and_secrets():
    old, new = b"o" * 32, b"n" * 32
    v = StandardWebhooks(["whsec_" + base64.b64encode(old).decode(), "whsec_" + base64.b64encode(new).decode()])
    for key in (old, new):
        v.verify(std_headers(b"b", key), b"b")
    h = std_headers(b"b", b"x" * 32)
    with pytest.raises(Unverified, match="does not match"):
        v.verify(h, b"b")
    good = std_headers(b"b", new)["webhook-signature"]
    h["webhook-signature"] = f"v1,AAAA {good} v2,zzz"     # several, space separated
    v.verify(h, b"b")


@pytest.mark.parametrize("drop, match", [("webhook-id", "no webhook-id"), ("webhook-timestamp", "no webhook-timestamp"),
                                         ("webhook-signature", "no webhook-signature")])
def test_standard_webhooks_missing_headers(drop, match):
    h = std_headers(b"b")
    del h[drop]
    with pytest.raises(Unverified, match=match):
        StandardWebhooks(WH_SECRET).verify(h, b"b")


def test_standard_webhooks_malformed_headers():
    v = StandardWebhooks(WH_SECRET)
    h = std_headers(b"b")
    with pytest.raises(Unverified, match="not a number of seconds"):
        v.verify({**h, "webhook-timestamp": "soon"}, b"b")
    with pytest.raises(Unverified, match="holds no v1 signature"):
        v.verify({**h, "webhook-signature": "v2,abc v1,not-base64!"}, b"b")
    with pytest.raises(Unverified, match="outside the 300 s tolerance"):
        v.verify(std_headers(b"b", ts=int(time.time()) + 400), b"b")      # from the future too


def test_stripe_accepts_any_v1_and_refuses_stale_or_tampered():
    v = Stripe(["whsec_old", "whsec_stripe"])
    body = b'{"id": "evt_1"}'
    v.verify(stripe_headers(body, extra=("v1=00ff", "v0=abc")), body)
    v.verify(stripe_headers(body, secret="whsec_old"), body)
    with pytest.raises(Unverified, match="does not match"):
        v.verify(stripe_headers(body), body + b" ")
    with pytest.raises(Unverified, match="outside the 300 s tolerance"):
        v.verify(stripe_headers(body, ts=int(time.time()) - 301), body)
    with pytest.raises(Unverified, match="no Stripe-Signature"):
        v.verify({}, body)
    with pytest.raises(Unverified, match="no t= timestamp"):
        v.verify({"Stripe-Signature": "v1=00"}, body)
    with pytest.raises(Unverified, match="no v1= signature"):
        v.verify({"Stripe-Signature": "t=1,v1=zz"}, body)


def test_github_and_bearer_refusals():
    g = GitHub(["old", "gh-secret"])
    g.verify(github_headers(b"x"), b"x")
    g.verify(github_headers(b"x", secret="old"), b"x")
    with pytest.raises(Unverified, match="no X-Hub-Signature-256"):
        g.verify({}, b"x")
    with pytest.raises(Unverified, match="not 'sha256=<hex>'"):
        g.verify({"X-Hub-Signature-256": "sha1=abcd"}, b"x")
    b = Bearer(["t-old", "t-new"])
    b.verify({"Authorization": "Bearer t-new"}, b"")
    b.verify({"Authorization": "bearer t-old"}, b"")
    for h, match in (({}, "no Authorization"), ({"Authorization": "Basic abc"}, "not 'Bearer <token>'"),
                     ({"Authorization": "Bearer t-other"}, "not valid")):
        with pytest.raises(Unverified, match=match):
            b.verify(h, b"")


@pytest.mark.parametrize("make, match", [
    (lambda: StandardWebhooks("whsec_%%%"), "not base64"),
    (lambda: StandardWebhooks([]), "at least one secret"),
    (lambda: Stripe(""), "non-empty str or bytes"),
    (lambda: GitHub([b"ok", 3]), "non-empty str or bytes"),
    (lambda: Bearer("two words"), "without spaces"),
])
def test_bad_secrets_are_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_the_public_module():
    assert {"StandardWebhooks", "Stripe", "GitHub", "Bearer", "Verifier", "Unverified"} <= set(webhooks.__all__)


# -- through the ingress ------------------------------------------------------------------------

def url(s, path):
    return URL(s.url + path, encoded=True)


async def send(client, s, path, body, headers):
    async with client.post(url(s, path), data=body, headers=headers) as r:
        return r.status, await r.json()


async def test_signed_requests_land_and_unsigned_tampered_stale_ones_are_401(serve, client):
    s = await serve([hf.listener], verify=StandardWebhooks(WH_SECRET))
    await s.engine.spawn("l", "listener", {"n": 2})
    for headers, body, match in (
            ({}, b"x", "no webhook-id"),
            (std_headers(b"x"), b"y", "does not match"),
            (std_headers(b"x", ts=int(time.time()) - 600), b"x", "outside the 300 s tolerance"),
            (std_headers(b"x", key=b"k" * 32), b"x", "does not match")):
        status, out = await send(client, s, "/l/numbers", body, headers)
        assert status == 401 and match in out["error"]
        assert s.rows() == 0 and s.rows("inbox_seen") == 0
    assert (await send(client, s, "/l/numbers", b"first", std_headers(b"first", mid="m1")))[0] == 202
    assert (await send(client, s, "/l/numbers", b"second", std_headers(b"second", mid="m2")))[0] == 202
    assert await s.engine.wait("l", timeout=10) == [b"first", b"second"]


async def test_a_replayed_delivery_lands_once_and_is_answered_2xx(serve, client):
    s = await serve([hf.listener], verify=StandardWebhooks(WH_SECRET))
    await s.engine.spawn("l", "listener", {"n": 2})
    h = std_headers(b"pay", mid="msg_replayed")
    st1, first = await send(client, s, "/l/numbers", b"pay", h)
    st2, again = await send(client, s, "/l/numbers", b"pay", h)
    assert (st1, st2) == (202, 202)
    assert again["duplicate"] is True and again["id"] == first["id"] and first["duplicate"] is False
    assert (await send(client, s, "/l/numbers", b"next", std_headers(b"next", mid="msg_2")))[0] == 202
    assert await s.engine.wait("l", timeout=10) == [b"pay", b"next"]


async def test_rotation_accepts_both_secrets(serve, client):
    new = b"N" * 32
    s = await serve([hf.listener], verify=StandardWebhooks([WH_SECRET, "whsec_" + base64.b64encode(new).decode()]))
    await s.engine.spawn("l", "listener", {"n": 2})
    assert (await send(client, s, "/l/numbers", b"a", std_headers(b"a", mid="a")))[0] == 202
    assert (await send(client, s, "/l/numbers", b"b", std_headers(b"b", key=new, mid="b")))[0] == 202
    assert (await send(client, s, "/l/numbers", b"c", std_headers(b"c", key=b"Z" * 32, mid="c")))[0] == 401
    assert await s.engine.wait("l", timeout=10) == [b"a", b"b"]


async def test_per_route_verifiers_and_bearer_before_the_body(serve, client):
    s = await serve([hf.listener, hf.inbox_forever], verify=Bearer("tok"),
                    routes={"POST /gh": GitHub("gh-secret"), "/stripe": Stripe("whsec_stripe"), "/open": None})
    await s.engine.spawn("l", "listener", {"n": 1})
    await s.engine.spawn("gh", "inbox_forever", {"route": "/gh"})
    status, out = await send(client, s, "/l/numbers", b"x" * (2 << 20), {})     # refused before the 413
    assert status == 401 and "no Authorization" in out["error"]
    assert (await send(client, s, "/l/numbers", b"x", {"Authorization": "Bearer nope"}))[0] == 401
    assert (await send(client, s, "/gh/gh", b"x", {"Authorization": "Bearer tok"}))[0] == 401   # GitHub here
    assert (await send(client, s, "/gh/stripe", b"x", {}))[0] == 401
    assert s.rows() == 0
    assert (await send(client, s, "/gh/gh", b"x", github_headers(b"x")))[0] == 202
    assert (await send(client, s, "/gh/stripe", b"x", stripe_headers(b"x")))[0] == 202
    assert (await send(client, s, "/gh/open", b"x", {}))[0] == 202
    assert (await send(client, s, "/l/numbers", b"ok", {"Authorization": "Bearer tok"}))[0] == 202
    assert await s.engine.wait("l", timeout=10) == [b"ok"]


async def test_github_deliveries_dedupe_on_their_delivery_id_per_tree(serve, client):
    s = await serve([hf.inbox_forever], verify=GitHub("gh-secret"))
    await s.engine.spawn("a", "inbox_forever", {"route": "/never"})
    await s.engine.spawn("b", "inbox_forever", {"route": "/never"})
    h = github_headers(b"push", delivery="72d3162e")
    for name in ("a", "a", "b"):
        assert (await send(client, s, f"/{name}/hook", b"push", h))[0] == 202
    assert s.rows() == 2 and s.rows("inbox_seen") == 2      # once per tree
    long = github_headers(b"push", delivery="x" * 300)
    status, out = await send(client, s, "/a/hook", b"push", long)
    assert status == 400 and "delivery id of 1 to 256" in out["error"]
    assert s.rows() == 2


async def test_a_dedupe_header_without_signatures_and_its_collection(serve, client):
    s = await serve([hf.listener], dedupe_header="Idempotency-Key")
    await s.engine.spawn("l", "listener", {"n": 2})
    for _ in range(3):
        assert (await send(client, s, "/l/numbers", b"once", {"Idempotency-Key": "k1"}))[0] == 202
    assert (await send(client, s, "/l/numbers", b"two", {"Idempotency-Key": "k2"}))[0] == 202
    assert await s.engine.wait("l", timeout=10) == [b"once", b"two"]
    # the tree ended: its seen delivery ids are deleted with it, and a repeat now finds it gone
    assert s.rows("inbox_seen") == 0
    assert (await send(client, s, "/l/numbers", b"once", {"Idempotency-Key": "k1"}))[0] == 410


async def test_delivery_ids_are_let_go_after_dedupe_seconds(serve, client):
    # a tree that listens for ever must not keep every delivery id it was ever sent
    s = await serve([hf.listener], dedupe_header="Idempotency-Key", dedupe_seconds=0.2)
    await s.engine.spawn("l", "listener", {"n": 3})
    assert (await send(client, s, "/l/numbers", b"a", {"Idempotency-Key": "k1"}))[0] == 202
    assert (await send(client, s, "/l/numbers", b"a", {"Idempotency-Key": "k1"}))[0] == 202     # a repeat
    assert s.rows("inbox_seen") == 1
    await asyncio.sleep(0.3)
    # past the window: k1 is forgotten when the next id is filed, and a late repeat lands again
    assert (await send(client, s, "/l/numbers", b"b", {"Idempotency-Key": "k2"}))[0] == 202
    assert s.rows("inbox_seen") == 1
    assert (await send(client, s, "/l/numbers", b"a", {"Idempotency-Key": "k1"}))[0] == 202
    assert await s.engine.wait("l", timeout=10) == [b"a", b"b", b"a"]
