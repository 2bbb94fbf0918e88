"""Interop tests: our library (peer.c in a child process) against real
libzmq (pyzmq's bundled copy, in this process).

Every blocking operation is bounded (10 s); synchronisation is done by
waiting on sockets, monitor events or the peer's stdout, never by sleeping.
"""
import functools
import os
import random
import re
import socket
import struct
import time

import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

import zut

T_MS = int(zut.TIMEOUT * 1000)
BIG = 1 << 20

# ---------------------------------------------------------------- messages
# A frame is ("s", text) | ("e",) | ("p", size, seed); the same description
# gives the peer's spec string and the bytes pyzmq sends or expects.


def S(text):
    return ("s", text)


E = ("e",)


def P(size, seed):
    return ("p", size, seed)


@functools.lru_cache(maxsize=None)
def pattern(size, seed):
    """Same bytes as pattern_byte() in peer.c:
    (i + (i>>8)*7 + (i>>16)*13 + seed*101) & 0xff."""
    ramp = bytes(range(256)) * 2
    blocks = []
    for b in range((size + 255) // 256):
        off = (b * 7 + (b >> 8) * 13 + seed * 101) & 0xFF
        blocks.append(ramp[off:off + 256])
    return b"".join(blocks)[:size]


def frame_bytes(f):
    if f[0] == "s":
        return f[1].encode()
    if f[0] == "e":
        return b""
    return pattern(f[1], f[2])


def frame_spec(f):
    if f[0] == "s":
        return "s:" + f[1]
    if f[0] == "e":
        return "e"
    return f"p:{f[1]}:{f[2]}"


def spec(msg):
    return ",".join(frame_spec(f) for f in msg)


def data(msg):
    return [frame_bytes(f) for f in msg]


# Ours -> theirs, and theirs -> ours: three-frame messages, empty frames in
# several positions, a 1 MiB frame, a message that is one empty frame, and
# frames around 8 KiB: where a body starts to be written and read in place,
# and where the write that opens a large body ends (header + 8183 bytes).
EDGES = [8183, 8184, 8192, 8193, 8201, 70000]
FWD = [
    [S("f1-a"), S("f1-b"), S("f1-c")],
    [S("f2-head"), E, S("f2-tail")],
    [S("f3-big"), P(BIG, 3), S("f3-end")],
    [E],
    [S("f5")] + [P(n, i) for i, n in enumerate(EDGES)] + [S("f5-end")],
]
BWD = [
    [S("b1-a"), S("b1-b"), S("b1-c")],
    [E, S("b2-mid"), E],
    [S("b3"), P(BIG, 9), E],
    [E],
    [P(n, i + 20) for i, n in enumerate(EDGES)],
]


def show(msg):
    return [f[:16] + (b"..." if len(f) > 16 else b"") + b"(%d)" % len(f) for f in msg]


def assert_msg(got, want, what="message"):
    if got == want:
        return
    raise AssertionError(f"{what}: got {show(got)}, expected {show(want)}")


# ------------------------------------------------------------ their side


def their_socket(ctx, stype, routing_id=None, subscribe=None):
    s = ctx.socket(getattr(zmq, stype))
    s.setsockopt(zmq.RCVTIMEO, T_MS)
    s.setsockopt(zmq.SNDTIMEO, T_MS)
    s.setsockopt(zmq.LINGER, 5000)
    if routing_id is not None:
        s.setsockopt(zmq.ROUTING_ID, routing_id)
    if subscribe is not None:
        s.setsockopt(zmq.SUBSCRIBE, subscribe)
    return s


def recv(sock, peer):
    try:
        return sock.recv_multipart()
    except zmq.Again:
        raise AssertionError(
            f"libzmq side: no message within {zut.TIMEOUT}s" + peer._diag()
        ) from None


def send(sock, peer, frames):
    try:
        sock.send_multipart(frames)
    except zmq.Again:
        raise AssertionError(
            f"libzmq side: send blocked for {zut.TIMEOUT}s" + peer._diag()
        ) from None


# ------------------------------------------------------------ conversations
# Each returns (our_args, their_socket_kwargs, their_fn(sock, peer)).
# Convention: ours always sends FWD messages, theirs always sends BWD.


def convo_bidi():
    ours = [f"send={spec(m)}" for m in FWD] + [f"expect={spec(m)}" for m in BWD]

    def theirs(sock, peer):
        for m in FWD:
            assert_msg(recv(sock, peer), data(m))
        for m in BWD:
            send(sock, peer, data(m))

    return ours, {}, theirs


def convo_push_pull():
    ours = [f"send={spec(m)}" for m in FWD]

    def theirs(sock, peer):
        for m in FWD:
            assert_msg(recv(sock, peer), data(m))

    return ours, {}, theirs


def convo_pull_push():
    ours = [f"expect={spec(m)}" for m in BWD]

    def theirs(sock, peer):
        for m in BWD:
            send(sock, peer, data(m))

    return ours, {}, theirs


def convo_req_rep():
    ours = []
    for f, b in zip(FWD, BWD):
        ours += [f"send={spec(f)}", f"expect={spec(b)}"]

    def theirs(sock, peer):
        for f, b in zip(FWD, BWD):
            assert_msg(recv(sock, peer), data(f), "request seen by their REP")
            send(sock, peer, data(b))

    return ours, {}, theirs


def convo_rep_req():
    ours = []
    for f, b in zip(FWD, BWD):
        ours += [f"expect={spec(b)}", f"send={spec(f)}"]

    def theirs(sock, peer):
        for f, b in zip(FWD, BWD):
            send(sock, peer, data(b))
            assert_msg(recv(sock, peer), data(f), "reply seen by their REQ")

    return ours, {}, theirs


def convo_dealer_router():
    rid = b"ours-dealer"
    ours = [f"--routing-id={rid.decode()}"]
    ours += [f"send={spec(m)}" for m in FWD] + [f"expect={spec(m)}" for m in BWD]

    def theirs(sock, peer):
        for m in FWD:
            got = recv(sock, peer)
            assert got[0] == rid, f"their ROUTER saw routing id {got[0]!r}, expected {rid!r}"
            assert_msg(got[1:], data(m))
        for m in BWD:
            send(sock, peer, [rid] + data(m))

    return ours, {}, theirs


def convo_router_dealer():
    rid = b"their-dealer"
    ours = []
    for f, b in zip(FWD, BWD):
        ours += [f"expect=s:{rid.decode()},{spec(b)}", f"send=@0,{spec(f)}"]

    def theirs(sock, peer):
        for f, b in zip(FWD, BWD):
            send(sock, peer, data(b))
            assert_msg(recv(sock, peer), data(f))

    return ours, {"routing_id": rid}, theirs


def convo_router_req():
    rid = b"their-req"
    ours = []
    for f, b in zip(FWD, BWD):
        # Envelope: routing id, empty delimiter, body.
        ours += [f"expect=s:{rid.decode()},e,{spec(b)}", f"send=@0,e,{spec(f)}"]

    def theirs(sock, peer):
        for f, b in zip(FWD, BWD):
            send(sock, peer, data(b))
            assert_msg(recv(sock, peer), data(f), "reply seen by their REQ")

    return ours, {"routing_id": rid}, theirs


def convo_req_router():
    rid = b"ours-req"
    ours = [f"--routing-id={rid.decode()}"]
    for f, b in zip(FWD, BWD):
        ours += [f"send={spec(f)}", f"expect={spec(b)}"]

    def theirs(sock, peer):
        for f, b in zip(FWD, BWD):
            got = recv(sock, peer)
            assert got[:2] == [rid, b""], f"envelope seen by their ROUTER: {show(got[:2])}"
            assert_msg(got[2:], data(f), "request body seen by their ROUTER")
            send(sock, peer, [rid, b""] + data(b))

    return ours, {}, theirs


def convo_pub_sub():
    # Slow-joiner sync: our PUB repeats "tsync" until their SUB has seen it.
    ours = ["pubsync=s:tsync", "send=s:xfiltered,s:body"]
    ours += [f"send=s:topic,{spec(m)}" for m in FWD]

    def theirs(sock, peer):
        assert_msg(recv(sock, peer), [b"tsync"])
        peer.tell("go")
        for m in FWD:
            got = recv(sock, peer)
            while got == [b"tsync"]:
                got = recv(sock, peer)
            assert_msg(got, [b"topic"] + data(m), "message seen by their SUB")

    return ours, {"subscribe": b"t"}, theirs


def convo_sub_pub():
    ours = ["--subscribe=t", "expect=s:tsync", "say=synced", "skip=s:tsync"]
    ours += [f"expect=s:topic,{spec(m)}" for m in BWD]

    def theirs(sock, peer):
        deadline = time.monotonic() + zut.TIMEOUT
        while True:
            send(sock, peer, [b"tsync"])
            line = peer.poll_line(0.02)
            if line == "synced":
                break
            assert line is None, f"unexpected peer output {line!r}"
            assert time.monotonic() < deadline, "our SUB never got the sync message" + peer._diag()
        send(sock, peer, [b"xfiltered", b"body"])  # must be filtered out by our SUB
        for m in BWD:
            send(sock, peer, [b"topic"] + data(m))

    return ours, {}, theirs


PAIRS = {
    ("PAIR", "PAIR"): convo_bidi,
    ("PUSH", "PULL"): convo_push_pull,
    ("PULL", "PUSH"): convo_pull_push,
    ("REQ", "REP"): convo_req_rep,
    ("REP", "REQ"): convo_rep_req,
    ("DEALER", "ROUTER"): convo_dealer_router,
    ("ROUTER", "DEALER"): convo_router_dealer,
    ("DEALER", "DEALER"): convo_bidi,
    ("ROUTER", "REQ"): convo_router_req,
    ("REQ", "ROUTER"): convo_req_router,
    ("PUB", "SUB"): convo_pub_sub,
    ("SUB", "PUB"): convo_sub_pub,
}

TRANSPORTS = ["tcp", "ipc"]


def bind_endpoint(transport, ipc_dir, name="s"):
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    return f"ipc://{ipc_dir}/{name}.ipc"


def check_bound_endpoint(transport, requested, reported):
    if transport == "tcp":
        m = re.fullmatch(r"tcp://127\.0\.0\.1:(\d+)", reported)
        assert m and 0 < int(m.group(1)) < 65536, f"bad ZMQ_LAST_ENDPOINT {reported!r}"
    else:
        assert reported == requested, f"ZMQ_LAST_ENDPOINT {reported!r} != {requested!r}"


# ------------------------------------------------------------------ tests


def test_peer_runs_library_under_test(spawn_peer, ut):
    """The peer proves (dladdr) it runs on the library under test, and that
    library is not the libzmq pyzmq runs on in this process."""
    peer = spawn_peer("PAIR", "bind", "tcp://127.0.0.1:*")
    peer.finish()
    ours = os.path.realpath(peer.lib)
    theirs = [os.path.realpath(p) for p in zut.loaded_libzmq_in_this_process()]
    assert theirs, "pyzmq's libzmq is not mapped in this process?"
    assert ours not in theirs, f"both sides run the same libzmq {ours}"
    assert re.fullmatch(r"4\.\d+\.\d+", peer.version), peer.version
    print(f"ours: {peer.lib} ({peer.version}); theirs: {theirs} ({zmq.zmq_version()})")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("we_bind", [True, False], ids=["we-bind", "they-bind"])
@pytest.mark.parametrize("pair", list(PAIRS), ids=["%s-%s" % p for p in PAIRS])
def test_matrix(spawn_peer, zctx, ipc_dir, pair, we_bind, transport):
    ours_type, their_type = pair
    our_args, their_kw, their_fn = PAIRS[pair]()
    sock = their_socket(zctx, their_type, **their_kw)
    ep = bind_endpoint(transport, ipc_dir)
    if we_bind:
        peer = spawn_peer(ours_type, "bind", ep, *our_args)
        check_bound_endpoint(transport, ep, peer.endpoint)
        sock.connect(peer.endpoint)
    else:
        sock.bind(ep)
        their_ep = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        peer = spawn_peer(ours_type, "connect", their_ep, *our_args)
        # (ZMQ_LAST_ENDPOINT after connect is checked in its own test.)
    their_fn(sock, peer)
    peer.finish()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_last_endpoint_after_connect(spawn_peer, zctx, ipc_dir, transport):
    """libzmq sets ZMQ_LAST_ENDPOINT on zmq_connect too (to the endpoint
    connected to)."""
    sock = their_socket(zctx, "PAIR")
    sock.bind(bind_endpoint(transport, ipc_dir))
    their_ep = sock.getsockopt_string(zmq.LAST_ENDPOINT)
    peer = spawn_peer("PAIR", "connect", their_ep)
    peer.finish()
    assert peer.endpoint == their_ep, f"ZMQ_LAST_ENDPOINT after connect: {peer.endpoint!r}"


# ------------------------------------------------------------- reconnect


def free_fixed_port():
    """A currently free TCP port below the ephemeral range (so that no
    outgoing connection can be handed it as its local port)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    hi = max(low - 1, 10001)
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(10000, hi)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port found")


def bind_fixed(sock, transport, ipc_dir):
    if transport == "ipc":
        ep = f"ipc://{ipc_dir}/rebind.ipc"
        sock.bind(ep)
        return ep
    for _ in range(20):
        ep = f"tcp://127.0.0.1:{free_fixed_port()}"
        try:
            sock.bind(ep)
            return ep
        except zmq.ZMQError as e:
            if e.errno != zmq.EADDRINUSE:
                raise
    raise RuntimeError("could not bind a fixed port")


def _router_phase(req, ack):
    def run(sock, peer):
        got = recv(sock, peer)
        assert_msg(got[1:], req)
        send(sock, peer, [got[0], ack])
    return run


def _pull_phase(req):
    def run(sock, peer):
        assert_msg(recv(sock, peer), req)
    return run


def _rep_phase(req, ack):
    def run(sock, peer):
        assert_msg(recv(sock, peer), req)
        send(sock, peer, [ack])
    return run


R1 = [b"r1"]
R2 = [b"r2", pattern(BIG, 5)]
R2_SPEC = f"s:r2,p:{BIG}:5"

RECONNECT = {
    # (ours, theirs): (our actions, their phase 1 on the first socket,
    #                  their phase 2 on the re-bound socket)
    ("DEALER", "ROUTER"): (
        ["send=s:r1", "expect=s:r1-ack", "say=phase1", "wait", f"send={R2_SPEC}", "expect=s:r2-ack"],
        _router_phase(R1, b"r1-ack"),
        _router_phase(R2, b"r2-ack"),
    ),
    ("PUSH", "PULL"): (
        ["send=s:r1", "say=phase1", "wait", f"send={R2_SPEC}"],
        _pull_phase(R1),
        _pull_phase(R2),
    ),
    ("REQ", "REP"): (
        ["send=s:r1", "expect=s:r1-ack", "say=phase1", "wait", f"send={R2_SPEC}", "expect=s:r2-ack"],
        _rep_phase(R1, b"r1-ack"),
        _rep_phase(R2, b"r2-ack"),
    ),
}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("pair", list(RECONNECT), ids=["%s-%s" % p for p in RECONNECT])
def test_reconnect_after_rebind(spawn_peer, zctx, ipc_dir, pair, transport):
    """Our connecting socket keeps working after the libzmq side closes and
    binds the same endpoint again."""
    ours_type, their_type = pair
    our_actions, phase1, phase2 = RECONNECT[pair]

    ctx1 = zmq.Context()
    try:
        s1 = their_socket(ctx1, their_type)
        ep = bind_fixed(s1, transport, ipc_dir)
        peer = spawn_peer(ours_type, "connect", ep, *our_actions)
        phase1(s1, peer)
        peer.expect_line("phase1")
        s1.close(linger=0)
    finally:
        # term() returns once the listener is really gone (port released,
        # ipc file unlinked), so the re-bind below cannot race with it.
        ctx1.destroy(linger=0)

    s2 = their_socket(zctx, their_type)
    mon = s2.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    s2.bind(ep)
    assert mon.poll(T_MS), f"our side did not reconnect within {zut.TIMEOUT}s" + peer._diag()
    evt = recv_monitor_message(mon)
    assert evt["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED, evt
    peer.tell("go")
    phase2(s2, peer)
    peer.finish()
    s2.disable_monitor()
    mon.close(linger=0)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("ours_type", ["REP", "ROUTER"])
def test_bound_socket_serves_successive_clients(spawn_peer, ipc_dir, ours_type, transport):
    """Our bound socket keeps serving when a libzmq client goes away and a
    new one connects."""
    peer = spawn_peer(ours_type, "bind", bind_endpoint(transport, ipc_dir), "echo=2")
    for i in (1, 2):
        ctx = zmq.Context()
        try:
            if ours_type == "REP":
                c = their_socket(ctx, "REQ")
                c.connect(peer.endpoint)
                msg = [b"client%d" % i, b"", b"x" * 100]
            else:
                c = their_socket(ctx, "DEALER", routing_id=b"client%d" % i)
                c.connect(peer.endpoint)
                msg = [b"hello%d" % i, pattern(BIG, i)]
            send(c, peer, msg)
            assert_msg(recv(c, peer), msg, f"echo to client {i}")
            c.close(linger=0)
        finally:
            ctx.destroy(linger=0)
    peer.finish()


# --------------------------------------------------------- hostile peers


def greeting(mechanism=b"NULL", major=3, minor=0, as_server=0):
    return (b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([major, minor])
            + mechanism.ljust(20, b"\x00") + bytes([as_server]) + b"\x00" * 31)


def command(name, body=b""):
    payload = bytes([len(name)]) + name + body
    if len(payload) <= 255:
        return b"\x04" + bytes([len(payload)]) + payload
    return b"\x06" + struct.pack(">Q", len(payload)) + payload


def prop(name, value):
    return bytes([len(name)]) + name + struct.pack(">I", len(value)) + value


READY_DEALER = command(b"READY", prop(b"Socket-Type", b"DEALER"))

HOSTILE = {
    # name: (bytes sent, extra peer options)
    "zeros": (b"\x00" * 64, []),
    "bad-mechanism": (greeting(mechanism=b"BOGUS"), []),
    "bad-command": (greeting() + command(b"BOGUS", b"junk"), []),
    "huge-command": (greeting() + b"\x06" + struct.pack(">Q", (1 << 63) - 1) + b"\x05READY", []),
    "huge-frame": (greeting() + READY_DEALER + b"\x02" + struct.pack(">Q", (1 << 63) - 1)
                   + b"z" * 64, []),
    "frame-over-maxmsgsize": (greeting() + READY_DEALER + b"\x02" + struct.pack(">Q", BIG + 1)
                              + b"z" * 64, [f"--maxmsgsize={BIG}"]),
}


def raw_connect(endpoint):
    if endpoint.startswith("tcp://"):
        host, port = endpoint[len("tcp://"):].rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=zut.TIMEOUT)
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(zut.TIMEOUT)
        s.connect(endpoint[len("ipc://"):])
    return s


def wait_dropped(s, peer):
    """Read (and discard) until the other end closes the connection."""
    deadline = time.monotonic() + zut.TIMEOUT
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("hostile connection was not dropped" + peer._diag())
        s.settimeout(remaining)
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return
        except socket.timeout:
            raise AssertionError("hostile connection was not dropped" + peer._diag()) from None
        if not chunk:
            return


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_peer_dropped(spawn_peer, zctx, ipc_dir, kind, transport):
    payload, opts = HOSTILE[kind]
    peer = spawn_peer("ROUTER", "bind", bind_endpoint(transport, ipc_dir), *opts, "echo=2")
    good = their_socket(zctx, "DEALER", routing_id=b"good")
    good.connect(peer.endpoint)
    send(good, peer, [b"ping1"])
    assert_msg(recv(good, peer), [b"ping1"])

    bad = raw_connect(peer.endpoint)
    try:
        try:
            bad.sendall(payload)
        except (ConnectionResetError, BrokenPipeError):
            pass  # already dropped: fine
        wait_dropped(bad, peer)
    finally:
        bad.close()

    send(good, peer, [b"ping2", pattern(BIG, 2)])
    assert_msg(recv(good, peer), [b"ping2", pattern(BIG, 2)])
    peer.finish()


# ------------------------------------------------------------- closing sender


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_closing_sender_loses_nothing_with_a_reader_at_hwm(spawn_peer, zctx, ipc_dir, transport):
    """Our PUSH sends a burst and closes (linger -1) while libzmq's PULL is still catching
    up at a small RCVHWM. libzmq 4.3.x drops an ipc connection without reading the rest of
    the kernel buffer when the peer's close (EPOLLHUP) arrives while its pipe is full, so
    our sender must not close before the peer has read everything it keeps reading."""
    count, size = 20000, 100
    pull = their_socket(zctx, "PULL")
    pull.setsockopt(zmq.RCVHWM, 50)
    pull.bind(bind_endpoint(transport, ipc_dir, "burst"))
    ep = pull.getsockopt_string(zmq.LAST_ENDPOINT)
    peer = spawn_peer("PUSH", "connect", ep, "--linger=-1", f"burst={count}:p:{size}:7")
    got = 0
    for got in range(count):
        try:
            m = pull.recv(copy=False)
        except zmq.Again:
            raise AssertionError(f"only {got} of {count} messages arrived" + peer._diag()) from None
        assert len(m) == size
        if got % 500 == 0:
            # Fall behind now and then so that the pipe is full while the sender finishes.
            time.sleep(0.005)
    peer.finish()
