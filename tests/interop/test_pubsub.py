"""Publish-subscribe interop: our PUB/SUB/XPUB/XSUB (peer.c on the library
under test) against real libzmq (pyzmq, in this process).

Synchronisation, never sleeps:
- slow joiner, publisher on our side: our PUB repeats a probe (`pubsync`)
  until their subscriber has received one, then we tell it to go on;
- slow joiner, publisher on their side: their PUB repeats a probe until our
  peer prints that it received one;
- their XPUB / our XPUB: the subscription notices themselves.
"Never arrives" is checked by order: a message that must be filtered out is
sent before one that must arrive, on the same connection, so the receiver
would see it first.
"""
import time

import pytest
import zmq

import zut
from test_interop import bind_fixed, pattern

T_MS = int(zut.TIMEOUT * 1000)
TRANSPORTS = ["tcp", "ipc"]
BIND = pytest.mark.parametrize("we_bind", [True, False], ids=["we-bind", "they-bind"])
WHEN = pytest.mark.parametrize("when", ["before", "after"], ids=["sub-before", "sub-after"])
BIG = 100000


def ep_for(transport, ipc_dir, name="ps"):
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    return f"ipc://{ipc_dir}/{name}.ipc"


def their_socket(ctx, stype):
    s = ctx.socket(getattr(zmq, stype))
    s.setsockopt(zmq.RCVTIMEO, T_MS)
    s.setsockopt(zmq.SNDTIMEO, T_MS)
    # libzmq's own default for SUB/XSUB is 0: resent subscriptions queued
    # for a vanished peer must not hold up the context's termination.
    s.setsockopt(zmq.LINGER, 0 if stype in ("SUB", "XSUB") else 5000)
    return s


def show(msg):
    return [f[:16] + (b"..." if len(f) > 16 else b"") + b"(%d)" % len(f) for f in msg]


def recv(sock, peer, what="message"):
    try:
        return sock.recv_multipart()
    except zmq.Again:
        raise AssertionError(
            f"libzmq side: no {what} within {zut.TIMEOUT}s" + peer._diag()
        ) from None


def recv_skipping(sock, peer, skip, what="message"):
    """Next message that is not one of `skip` (a list of messages)."""
    while True:
        got = recv(sock, peer, what)
        if got not in skip:
            return got


def expect(sock, peer, want, skip=(), what="message"):
    got = recv_skipping(sock, peer, list(skip), what)
    assert got == want, f"{what}: got {show(got)}, expected {show(want)}" + peer._diag()


def their_sub(sock, stype, topic):
    if stype == "SUB":
        sock.setsockopt(zmq.SUBSCRIBE, topic)
    else:
        sock.send(b"\x01" + topic)


def their_unsub(sock, stype, topic):
    if stype == "SUB":
        sock.setsockopt(zmq.UNSUBSCRIBE, topic)
    else:
        sock.send(b"\x00" + topic)


def probe_until(sock, peer, frames, line):
    """Their publisher: send `frames` every 20 ms until the peer prints `line`."""
    deadline = time.monotonic() + zut.TIMEOUT
    while True:
        sock.send_multipart(frames)  # (X)PUB never blocks
        got = peer.poll_line(0.02)
        if got == line:
            return
        assert got is None, f"unexpected peer output {got!r}" + peer._diag()
        assert time.monotonic() < deadline, (
            f"our subscriber never received {frames!r}" + peer._diag()
        )


def pump_until(sock, peer, line):
    """Let their idle socket process its commands until the peer prints
    `line`. (libzmq attaches a connection accepted by a bound socket, and so
    a bound SUB sends its subscriptions, only when the application thread
    enters that socket.)"""
    deadline = time.monotonic() + zut.TIMEOUT
    while True:
        sock.getsockopt(zmq.EVENTS)
        got = peer.poll_line(0.02)
        if got == line:
            return
        assert got is None, f"unexpected peer output {got!r}" + peer._diag()
        assert time.monotonic() < deadline, f"peer never printed {line!r}" + peer._diag()


def hx(b):
    return b.hex()


# Topics "a" and "b" are subscribed. What the publisher sends after the
# probe, as (peer send spec, frames, delivered?):
STREAM = [
    ("s:c,s:no", [b"c", b"no"], False),            # other topic
    ("s:x,s:a", [b"x", b"a"], False),              # only frame 0 is matched
    ("e", [b""], False),                           # empty topic
    ("s:B", [b"B"], False),                        # case matters
    ("s:a,s:1,e,s:3", [b"a", b"1", b"", b"3"], True),  # multipart kept whole
    ("s:b", [b"b"], True),
    (f"s:abc,p:{BIG}:4", [b"abc", pattern(BIG, 4)], True),  # prefix match
    ("s:zzz,s:a", [b"zzz", b"a"], False),
    ("s:b-end", [b"b-end"], True),
]
DELIVERED = [m for _, m, ok in STREAM if ok]


def spec_of(frames):
    """Peer spec for frames made of printable text / empty frames / BIG pattern."""
    out = []
    for f in frames:
        if f == b"":
            out.append("e")
        elif f == pattern(BIG, 4):
            out.append(f"p:{BIG}:4")
        else:
            out.append("s:" + f.decode())
    return ",".join(out)


# ------------------------------------------------ our PUB -> their (X)SUB


@pytest.mark.parametrize("transport", TRANSPORTS)
@WHEN
@BIND
@pytest.mark.parametrize("their_type", ["SUB", "XSUB"])
def test_our_pub_filters(spawn_peer, zctx, ipc_dir, their_type, we_bind, when, transport):
    """Only subscribed topics reach their subscriber, whole; subscriptions
    set before or after connecting both take effect."""
    ours = ["pubsync=s:a-probe"] + [f"send={s}" for s, _, _ in STREAM]
    sock = their_socket(zctx, their_type)
    if when == "before":
        their_sub(sock, their_type, b"a")
        their_sub(sock, their_type, b"b")
    if we_bind:
        peer = spawn_peer("PUB", "bind", ep_for(transport, ipc_dir), *ours)
        sock.connect(peer.endpoint)
    else:
        sock.bind(ep_for(transport, ipc_dir))
        peer = spawn_peer("PUB", "connect", sock.getsockopt_string(zmq.LAST_ENDPOINT), *ours)
    if when == "after":
        their_sub(sock, their_type, b"a")
        their_sub(sock, their_type, b"b")
    expect(sock, peer, [b"a-probe"], what="probe")
    peer.tell("go")
    for m in DELIVERED:
        expect(sock, peer, m, skip=[[b"a-probe"]])
    peer.finish()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("their_type", ["SUB", "XSUB"])
def test_our_pub_empty_subscription_gets_all(spawn_peer, zctx, ipc_dir, their_type, transport):
    msgs = [[b""], [b"zz", b"1"], [b"\x00\xff", b""], [b"a", pattern(BIG, 4)], [b"end"]]
    ours = ["pubsync=s:probe", "send=e", "send=s:zz,s:1", "send=x:00ff,e",
            f"send=s:a,p:{BIG}:4", "send=s:end"]
    peer = spawn_peer("PUB", "bind", ep_for(transport, ipc_dir), *ours)
    sock = their_socket(zctx, their_type)
    sock.connect(peer.endpoint)
    their_sub(sock, their_type, b"")
    expect(sock, peer, [b"probe"], what="probe")
    peer.tell("go")
    for m in msgs:
        expect(sock, peer, m, skip=[[b"probe"]])
    peer.finish()


@pytest.mark.parametrize("transport", TRANSPORTS)
@BIND
@pytest.mark.parametrize("their_type", ["SUB", "XSUB"])
def test_our_pub_unsubscribe(spawn_peer, zctx, ipc_dir, their_type, we_bind, transport):
    """After their unsubscription our PUB stops sending the topic. (Their
    XSUB does not filter, so there this checks our PUB itself.) The
    subscription to "c" made after the unsubscription is the barrier: once
    "c" messages flow, the unsubscription has been processed too."""
    ours = ["pubsync=s:b-probe", "pubsync=s:c-probe", "send=s:a-gone", "send=s:b-end"]
    sock = their_socket(zctx, their_type)
    their_sub(sock, their_type, b"a")
    their_sub(sock, their_type, b"b")
    if we_bind:
        peer = spawn_peer("PUB", "bind", ep_for(transport, ipc_dir), *ours)
        sock.connect(peer.endpoint)
    else:
        sock.bind(ep_for(transport, ipc_dir))
        peer = spawn_peer("PUB", "connect", sock.getsockopt_string(zmq.LAST_ENDPOINT), *ours)
    expect(sock, peer, [b"b-probe"], what="probe")
    their_unsub(sock, their_type, b"a")
    their_sub(sock, their_type, b"c")
    peer.tell("go")
    expect(sock, peer, [b"c-probe"], skip=[[b"b-probe"]], what="probe after subscribing c")
    peer.tell("go")
    expect(sock, peer, [b"b-end"], skip=[[b"b-probe"], [b"c-probe"]])
    peer.finish()


# ------------------------------------------------ their PUB -> our (X)SUB


def our_sub_args(our_type, topics, when):
    """Peer arguments subscribing our SUB / XSUB to `topics` (text)."""
    if our_type == "SUB":
        if when == "before":
            return [f"--subscribe={t}" for t in topics]
        return [f"sub={t}" for t in topics]
    sends = [f"send=x:01{t.encode().hex()}" for t in topics]
    if when == "before":
        return [f"--before={s}" for s in sends]
    return sends


def sort_opts(args):
    """Options (--...) first, as the peer requires."""
    return [a for a in args if a.startswith("--")] + [a for a in args if not a.startswith("--")]


@pytest.mark.parametrize("transport", TRANSPORTS)
@WHEN
@BIND
@pytest.mark.parametrize("our_type", ["SUB", "XSUB"])
def test_their_pub_to_our_sub(spawn_peer, zctx, ipc_dir, our_type, we_bind, when, transport):
    """Our SUB (ZMQ_SUBSCRIBE) or XSUB (sending \\x01topic), subscribed
    before or after connecting, receives exactly the subscribed topics.
    (Our XSUB does not filter, so there this checks what we sent upstream.)"""
    ours = our_sub_args(our_type, ["a", "b"], when)
    ours += ["expect=s:a-probe", "say=synced", "skip=s:a-probe"]
    ours += [f"expect={spec_of(m)}" for m in DELIVERED]
    ours = sort_opts(ours)
    sock = their_socket(zctx, "PUB")
    if we_bind:
        peer = spawn_peer(our_type, "bind", ep_for(transport, ipc_dir), *ours)
        sock.connect(peer.endpoint)
    else:
        sock.bind(ep_for(transport, ipc_dir))
        peer = spawn_peer(our_type, "connect", sock.getsockopt_string(zmq.LAST_ENDPOINT), *ours)
    probe_until(sock, peer, [b"a-probe"], "synced")
    for _, m, _ in STREAM:
        sock.send_multipart(m)
    peer.finish()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("our_type", ["SUB", "XSUB"])
def test_their_pub_empty_subscription_gets_all(spawn_peer, zctx, ipc_dir, our_type, transport):
    sock = their_socket(zctx, "PUB")
    sock.bind(ep_for(transport, ipc_dir))
    ours = ["sub="] if our_type == "SUB" else ["send=x:01"]
    ours += ["expect=s:probe", "say=synced", "skip=s:probe", "expect=e", "expect=s:zz,s:1",
             "expect=x:00ff,e", f"expect=s:a,p:{BIG}:4", "expect=s:end"]
    peer = spawn_peer(our_type, "connect", sock.getsockopt_string(zmq.LAST_ENDPOINT), *ours)
    probe_until(sock, peer, [b"probe"], "synced")
    for m in [[b""], [b"zz", b"1"], [b"\x00\xff", b""], [b"a", pattern(BIG, 4)], [b"end"]]:
        sock.send_multipart(m)
    peer.finish()


@pytest.mark.parametrize("transport", TRANSPORTS)
@BIND
@pytest.mark.parametrize("our_type", ["SUB", "XSUB"])
def test_our_sub_unsubscribe(spawn_peer, zctx, ipc_dir, our_type, we_bind, transport):
    """Their XPUB sees our subscriptions and our unsubscription, and delivery
    of the unsubscribed topic stops."""
    unsub = "unsub=a" if our_type == "SUB" else "send=x:0061"
    ours = our_sub_args(our_type, ["a", "b"], "after")
    ours += ["expect=s:a,s:1", "expect=s:b,s:1", unsub, "expect=s:b,s:2"]
    sock = their_socket(zctx, "XPUB")
    if we_bind:
        peer = spawn_peer(our_type, "bind", ep_for(transport, ipc_dir), *ours)
        sock.connect(peer.endpoint)
    else:
        sock.bind(ep_for(transport, ipc_dir))
        peer = spawn_peer(our_type, "connect", sock.getsockopt_string(zmq.LAST_ENDPOINT), *ours)
    expect(sock, peer, [b"\x01a"], what="subscription a")
    expect(sock, peer, [b"\x01b"], what="subscription b")
    sock.send_multipart([b"a", b"1"])
    sock.send_multipart([b"b", b"1"])
    expect(sock, peer, [b"\x00a"], what="unsubscription a")
    sock.send_multipart([b"a", b"2"])
    sock.send_multipart([b"b", b"2"])
    peer.finish()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("our_type", ["SUB", "XSUB"])
def test_our_sub_subscription_refcount(spawn_peer, zctx, ipc_dir, our_type, transport):
    """As libzmq: every subscription is sent upstream (their verbose XPUB
    sees duplicates), but a topic subscribed twice must be unsubscribed twice
    before \x00topic is sent and delivery stops."""
    if our_type == "SUB":
        sub, unsub = (lambda t: f"sub={t}"), (lambda t: f"unsub={t}")
    else:
        sub = lambda t: f"send=x:01{t.encode().hex()}"  # noqa: E731
        unsub = lambda t: f"send=x:00{t.encode().hex()}"  # noqa: E731
    ours = [sub("a"), sub("a"), sub("b"), unsub("a"), sub("c"),
            "expect=s:a,s:1", "expect=s:c,s:1", unsub("a"), sub("d"), "expect=s:d,s:2"]
    sock = their_socket(zctx, "XPUB")
    sock.setsockopt(zmq.XPUB_VERBOSE, 1)
    sock.bind(ep_for(transport, ipc_dir))
    peer = spawn_peer(our_type, "connect", sock.getsockopt_string(zmq.LAST_ENDPOINT), *ours)
    for n in [b"\x01a", b"\x01a", b"\x01b", b"\x01c"]:
        expect(sock, peer, [n], what=f"notice {n!r}")
    sock.send_multipart([b"a", b"1"])
    sock.send_multipart([b"c", b"1"])
    expect(sock, peer, [b"\x00a"], what="unsubscription after the second unsubscribe")
    expect(sock, peer, [b"\x01d"], what="notice b'\\x01d'")
    sock.send_multipart([b"a", b"2"])
    sock.send_multipart([b"d", b"2"])
    peer.finish()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("ours_xpub", [True, False], ids=["our-xpub", "our-xsub"])
def test_xsub_user_messages_reach_xpub(spawn_peer, zctx, ipc_dir, ours_xpub, transport):
    """Messages an XSUB sends that are not (un)subscriptions go upstream and
    the XPUB receives them as they are, multipart included."""
    if ours_xpub:
        ours = ["expect=x:0161", "expect=s:hello,s:world", "expect=x:7a", "send=s:a,s:back"]
        peer = spawn_peer("XPUB", "bind", ep_for(transport, ipc_dir), *ours)
        sock = their_socket(zctx, "XSUB")
        sock.connect(peer.endpoint)
        sock.send(b"\x01a")
        sock.send_multipart([b"hello", b"world"])
        sock.send(b"z")
        expect(sock, peer, [b"a", b"back"])
    else:
        sock = their_socket(zctx, "XPUB")
        sock.bind(ep_for(transport, ipc_dir))
        ours = ["send=x:0161", "send=s:hello,s:world", "send=x:7a", "expect=s:a,s:back"]
        peer = spawn_peer("XSUB", "connect", sock.getsockopt_string(zmq.LAST_ENDPOINT), *ours)
        expect(sock, peer, [b"\x01a"], what="subscription")
        expect(sock, peer, [b"hello", b"world"], what="user message")
        expect(sock, peer, [b"z"], what="user message")
        sock.send_multipart([b"a", b"back"])
    peer.finish()


# ------------------------------------------------ our XPUB <- their (X)SUB


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("verbose", [False, True], ids=["plain", "verbose"])
@BIND
@pytest.mark.parametrize("their_type", ["SUB", "XSUB"])
def test_our_xpub(spawn_peer, zctx, ipc_dir, their_type, we_bind, verbose, transport):
    """Our XPUB reports their subscriptions (\\x01topic), duplicates only with
    ZMQ_XPUB_VERBOSE, and unsubscriptions (\\x00topic) once the last
    subscriber of a topic unsubscribes or disconnects; it delivers by topic.

    sub1 subscribes before connecting, sub2 after."""
    dup = (lambda spec: [f"expect={spec}"]) if verbose else (lambda spec: [])
    ours = ["--setint=XPUB_VERBOSE:1"] if verbose else []
    sub1 = their_socket(zctx, their_type)
    sub2 = their_socket(zctx, their_type)
    their_sub(sub1, their_type, b"a")
    if we_bind:
        ep = ep_for(transport, ipc_dir)
        mode = "bind"
    else:
        sub1.bind(ep_for(transport, ipc_dir, "ps1"))
        sub2.bind(ep_for(transport, ipc_dir, "ps2"))
        ep = sub1.getsockopt_string(zmq.LAST_ENDPOINT)
        ep2 = sub2.getsockopt_string(zmq.LAST_ENDPOINT)
        ours.append("connect=" + ep2)
        mode = "connect"
    ours += ["expect=x:0161", "send=s:a,s:1"]              # sub1: a
    ours += dup("x:0161") + ["expect=x:0162", "say=sub2"]  # sub2: a, b
    ours += ["send=s:a,s:2", "send=s:b,s:2", "send=s:a,s:3"]
    # sub1: -a (sub2 still has a: no notice), +c, +c, +d, -c, -c, -d
    ours += ["expect=x:0163"] + dup("x:0163") + ["expect=x:0164"]
    ours += ["expect=x:0063", "expect=x:0064", "say=unsubscribed"]
    # sub2 goes away: -a, -b. When it is the connecting side, its connection
    # is closed; when we connect, we disconnect (a connecting pipe outlives
    # its connection, so a closed bound peer is not a departure).
    if not we_bind:
        ours.append("disconnect=" + ep2)
    ours += ["print", "print", "expect-none=100"]
    peer = spawn_peer("XPUB", mode, ep, *ours)
    if we_bind:
        sub1.connect(peer.endpoint)
        sub2.connect(peer.endpoint)

    expect(sub1, peer, [b"a", b"1"])
    their_sub(sub2, their_type, b"a")
    their_sub(sub2, their_type, b"b")
    pump_until(sub2, peer, "sub2")
    expect(sub1, peer, [b"a", b"2"])
    expect(sub1, peer, [b"a", b"3"], what="message after [b, 2] (b is not subscribed)")
    expect(sub2, peer, [b"a", b"2"])
    expect(sub2, peer, [b"b", b"2"])
    expect(sub2, peer, [b"a", b"3"])

    their_unsub(sub1, their_type, b"a")
    their_sub(sub1, their_type, b"c")
    their_sub(sub1, their_type, b"c")
    their_sub(sub1, their_type, b"d")
    their_unsub(sub1, their_type, b"c")
    their_unsub(sub1, their_type, b"c")
    their_unsub(sub1, their_type, b"d")
    peer.expect_line("unsubscribed")

    if we_bind:
        sub2.close(linger=0)
    notices = sorted(peer.expect_prefix("MSG ") for _ in range(2))
    assert notices == [hx(b"\x00a"), hx(b"\x00b")], (
        f"notices after sub2 disconnected: {notices}" + peer._diag()
    )
    peer.finish()


# ------------------------------------------------ reconnect


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("our_type", ["SUB", "XSUB"])
def test_subscription_survives_reconnect(spawn_peer, zctx, ipc_dir, our_type, transport):
    """Their PUB goes away and a new one binds the same endpoint: our
    connecting SUB/XSUB resubscribes by itself and receives again, still
    filtered."""
    ours = our_sub_args(our_type, ["t"], "before")
    ours += ["expect=s:t1-probe", "say=synced1", "skip=s:t1-probe", "expect=s:t,s:one",
             "say=phase1",
             "expect=s:t2-probe", "say=synced2", "skip=s:t2-probe", "expect=s:t,s:two"]
    ours = sort_opts(ours)
    ctx1 = zmq.Context()
    try:
        pub1 = their_socket(ctx1, "PUB")
        ep = bind_fixed(pub1, transport, ipc_dir)
        peer = spawn_peer(our_type, "connect", ep, *ours)
        probe_until(pub1, peer, [b"t1-probe"], "synced1")
        pub1.send_multipart([b"x", b"filtered"])
        pub1.send_multipart([b"t", b"one"])
        peer.expect_line("phase1")
        pub1.close(linger=0)
    finally:
        # term() returns once the listener is gone, so the re-bind cannot race.
        ctx1.destroy(linger=0)

    pub2 = their_socket(zctx, "PUB")
    pub2.bind(ep)
    probe_until(pub2, peer, [b"t2-probe"], "synced2")
    pub2.send_multipart([b"x", b"filtered"])
    pub2.send_multipart([b"t", b"two"])
    peer.finish()
