/*
 * API conformance: error reporting.
 *  - malformed / unsupported endpoints for bind and connect
 *  - bad socket options
 *  - NULL socket and context pointers
 *  - EFSM for REQ/REP state violations, ENOTSUP for wrong-direction calls
 *  - EAGAIN with ZMQ_DONTWAIT, with RCVTIMEO expiry and with SNDTIMEO when
 *    there is no peer to take the message
 * The expected errno values are those of libzmq 4.3.x.
 */
#include "testutil.h"

static void test_bad_endpoints (void *ctx)
{
    void *s = tu_socket (ctx, ZMQ_PAIR);

    /* unknown transport */
    CHECK_ERR (zmq_bind (s, "foo://x"), EPROTONOSUPPORT,
               "bind unknown transport -> EPROTONOSUPPORT");
    CHECK_ERR (zmq_connect (s, "foo://x"), EPROTONOSUPPORT,
               "connect unknown transport -> EPROTONOSUPPORT");
    CHECK_ERR (zmq_unbind (s, "foo://x"), EPROTONOSUPPORT,
               "unbind unknown transport -> EPROTONOSUPPORT");

    /* no "://" at all */
    CHECK_ERR (zmq_bind (s, "abc"), EINVAL, "bind without scheme -> EINVAL");
    CHECK_ERR (zmq_connect (s, "abc"), EINVAL,
               "connect without scheme -> EINVAL");
    CHECK_ERR (zmq_bind (s, ""), EINVAL, "bind empty string -> EINVAL");

    /* empty addresses */
    CHECK_ERR (zmq_bind (s, "tcp://"), EINVAL, "bind tcp:// -> EINVAL");
    CHECK_ERR (zmq_connect (s, "tcp://"), EINVAL, "connect tcp:// -> EINVAL");
    CHECK_ERR (zmq_bind (s, "ipc://"), EINVAL, "bind ipc:// -> EINVAL");
    CHECK_ERR (zmq_connect (s, "ipc://"), EINVAL, "connect ipc:// -> EINVAL");
    CHECK_ERR (zmq_bind (s, "inproc://"), EINVAL, "bind inproc:// -> EINVAL");
    CHECK_ERR (zmq_connect (s, "inproc://"), EINVAL,
               "connect inproc:// -> EINVAL");

    /* malformed tcp addresses */
    CHECK_ERR (zmq_bind (s, "tcp://127.0.0.1"), EINVAL,
               "bind tcp without port -> EINVAL");
    CHECK_ERR (zmq_connect (s, "tcp://127.0.0.1"), EINVAL,
               "connect tcp without port -> EINVAL");
    CHECK_ERR (zmq_bind (s, "tcp://127.0.0.1:"), EINVAL,
               "bind tcp with empty port -> EINVAL");
    CHECK_ERR (zmq_bind (s, "tcp://127.0.0.1:abc"), EINVAL,
               "bind tcp with non-numeric port -> EINVAL");
    CHECK_ERR (zmq_bind (s, "tcp://127.0.0.1:65536"), EINVAL,
               "bind tcp port 65536 (== 0 mod 2^16) -> EINVAL");
    CHECK_ERR (zmq_connect (s, "tcp://127.0.0.1:*"), EINVAL,
               "connect to wildcard port -> EINVAL");
    /* an address that is not a local interface cannot be bound */
    CHECK_ERR (zmq_bind (s, "tcp://999.0.0.1:5555"), ENODEV,
               "bind tcp invalid IPv4 -> ENODEV");
    CHECK_ERR (zmq_bind (s, "tcp://:5555"), ENODEV,
               "bind tcp empty host -> ENODEV");
    /* ipc path in a missing directory */
    CHECK_ERR (zmq_bind (s, "ipc:///nonexistent-zt-dir/sock"), ENOENT,
               "bind ipc in missing directory -> ENOENT");

    /* libzmq 4.3.x parses the port with atoi and truncates it to 16 bits:
     * port 99999 is accepted and means 99999 - 65536 = 34463. */
    errno = 0;
    int rc = zmq_bind (s, "tcp://127.0.0.1:99999");
    if (rc == 0) {
        char ep[256];
        tu_last_endpoint (s, ep, sizeof ep);
        CHECK (strcmp (ep, "tcp://127.0.0.1:34463") == 0,
               "bind port 99999 truncates to 34463");
        CHECK_OK (zmq_unbind (s, ep), "unbind truncated port");
    } else {
        CHECK (errno == EADDRINUSE,
               "bind port 99999 succeeds (truncated) or port is in use");
    }

    CHECK_OK (zmq_close (s), "close");
}

static void test_bad_options (void *ctx)
{
    void *s = tu_socket (ctx, ZMQ_DEALER);
    int v = 5;
    size_t len;

    CHECK_ERR (zmq_setsockopt (s, 12345, &v, sizeof v), EINVAL,
               "setsockopt unknown option -> EINVAL");
    CHECK_ERR (zmq_setsockopt (s, ZMQ_SNDHWM, &v, 2), EINVAL,
               "setsockopt int option with optvallen 2 -> EINVAL");
    CHECK_ERR (zmq_setsockopt (s, ZMQ_LINGER, &v, 8), EINVAL,
               "setsockopt int option with optvallen 8 -> EINVAL");
    CHECK_ERR (zmq_setsockopt (s, ZMQ_SNDHWM, NULL, 0), EINVAL,
               "setsockopt int option with NULL optval, len 0 -> EINVAL");
    CHECK_ERR (zmq_setsockopt (s, ZMQ_ROUTING_ID, NULL, 0), EINVAL,
               "setsockopt ROUTING_ID empty -> EINVAL");
    char big[300];
    memset (big, 'x', sizeof big);
    CHECK_ERR (zmq_setsockopt (s, ZMQ_ROUTING_ID, big, 256), EINVAL,
               "setsockopt ROUTING_ID longer than 255 -> EINVAL");
    v = -2;
    CHECK_ERR (zmq_setsockopt (s, ZMQ_SNDHWM, &v, sizeof v), EINVAL,
               "setsockopt negative SNDHWM -> EINVAL");
    CHECK_ERR (zmq_setsockopt (s, ZMQ_SUBSCRIBE, "a", 1), EINVAL,
               "SUBSCRIBE on a DEALER -> EINVAL");

    len = sizeof v;
    CHECK_ERR (zmq_getsockopt (s, 12345, &v, &len), EINVAL,
               "getsockopt unknown option -> EINVAL");
    len = 2;
    CHECK_ERR (zmq_getsockopt (s, ZMQ_SNDHWM, &v, &len), EINVAL,
               "getsockopt int option with optvallen 2 -> EINVAL");

    /* LAST_ENDPOINT into a too-small buffer */
    CHECK_OK (zmq_bind (s, "tcp://127.0.0.1:*"), "bind ephemeral");
    char small[4];
    len = sizeof small;
    CHECK_ERR (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, small, &len), EINVAL,
               "getsockopt LAST_ENDPOINT into 4-byte buffer -> EINVAL");

    /* the option values survive the failed calls */
    v = 0;
    len = sizeof v;
    CHECK_OK (zmq_getsockopt (s, ZMQ_SNDHWM, &v, &len), "getsockopt SNDHWM");
    CHECK (v == 1000, "SNDHWM unchanged by failed setsockopt (default 1000)");

    CHECK_OK (zmq_close (s), "close");
}

static void test_null_pointers (void *ctx)
{
    char buf[8];
    int v = 0;
    size_t len = sizeof v;
    zmq_msg_t msg;
    CHECK_OK (zmq_msg_init (&msg), "msg init");

    CHECK_ERR (zmq_send (NULL, "a", 1, 0), ENOTSOCK, "send(NULL) -> ENOTSOCK");
    CHECK_ERR (zmq_recv (NULL, buf, 1, 0), ENOTSOCK, "recv(NULL) -> ENOTSOCK");
    CHECK_ERR (zmq_close (NULL), ENOTSOCK, "close(NULL) -> ENOTSOCK");
    CHECK_ERR (zmq_bind (NULL, "inproc://a"), ENOTSOCK,
               "bind(NULL) -> ENOTSOCK");
    CHECK_ERR (zmq_connect (NULL, "inproc://a"), ENOTSOCK,
               "connect(NULL) -> ENOTSOCK");
    CHECK_ERR (zmq_unbind (NULL, "inproc://a"), ENOTSOCK,
               "unbind(NULL) -> ENOTSOCK");
    CHECK_ERR (zmq_disconnect (NULL, "inproc://a"), ENOTSOCK,
               "disconnect(NULL) -> ENOTSOCK");
    CHECK_ERR (zmq_setsockopt (NULL, ZMQ_LINGER, &v, sizeof v), ENOTSOCK,
               "setsockopt(NULL) -> ENOTSOCK");
    CHECK_ERR (zmq_getsockopt (NULL, ZMQ_LINGER, &v, &len), ENOTSOCK,
               "getsockopt(NULL) -> ENOTSOCK");
    CHECK_ERR (zmq_msg_send (&msg, NULL, 0), ENOTSOCK,
               "msg_send(NULL socket) -> ENOTSOCK");
    CHECK_ERR (zmq_msg_recv (&msg, NULL, 0), ENOTSOCK,
               "msg_recv(NULL socket) -> ENOTSOCK");

    CHECK_NULL_ERR (zmq_socket (NULL, ZMQ_REQ), EFAULT,
                    "socket(NULL ctx) -> NULL/EFAULT");
    CHECK_ERR (zmq_ctx_term (NULL), EFAULT, "ctx_term(NULL) -> EFAULT");
    CHECK_ERR (zmq_ctx_shutdown (NULL), EFAULT,
               "ctx_shutdown(NULL) -> EFAULT");
    CHECK_ERR (zmq_ctx_destroy (NULL), EFAULT, "ctx_destroy(NULL) -> EFAULT");
    CHECK_ERR (zmq_ctx_set (NULL, ZMQ_IO_THREADS, 1), EFAULT,
               "ctx_set(NULL) -> EFAULT");
    CHECK_ERR (zmq_ctx_get (NULL, ZMQ_IO_THREADS), EFAULT,
               "ctx_get(NULL) -> EFAULT");

    CHECK_NULL_ERR (zmq_socket (ctx, 999), EINVAL,
                    "socket with unknown type -> NULL/EINVAL");
    CHECK_NULL_ERR (zmq_socket (ctx, -1), EINVAL,
                    "socket with negative type -> NULL/EINVAL");

    CHECK_ERR (zmq_poll (NULL, 1, 0), EFAULT,
               "poll(NULL items, 1) -> EFAULT");
    CHECK (zmq_poll (NULL, 0, 0) == 0, "poll with no items returns 0");

    CHECK_OK (zmq_msg_close (&msg), "msg close");
}

static void test_efsm (void *ctx)
{
    char buf[16];
    void *req = tu_socket (ctx, ZMQ_REQ);
    void *rep = tu_socket (ctx, ZMQ_REP);
    char ep[256];
    tu_bind_ephemeral (rep, "inproc", ep, sizeof ep);
    CHECK_OK (zmq_connect (req, ep), "connect req");

    CHECK_ERR (zmq_recv (req, buf, sizeof buf, 0), EFSM,
               "REQ recv before send -> EFSM");
    CHECK_ERR (zmq_send (rep, "x", 1, 0), EFSM, "REP send before recv -> EFSM");

    CHECK (zmq_send (req, "ping", 4, 0) == 4, "REQ first send");
    CHECK_ERR (zmq_send (req, "ping", 4, 0), EFSM,
               "REQ second send without recv -> EFSM");

    CHECK (zmq_recv (rep, buf, sizeof buf, 0) == 4, "REP recv");
    CHECK_ERR (zmq_recv (rep, buf, sizeof buf, ZMQ_DONTWAIT), EFSM,
               "REP recv twice without send -> EFSM");
    CHECK (zmq_send (rep, "pong", 4, 0) == 4, "REP reply");
    CHECK_ERR (zmq_send (rep, "pong", 4, 0), EFSM,
               "REP second send -> EFSM");
    CHECK (zmq_recv (req, buf, sizeof buf, 0) == 4, "REQ gets reply");
    CHECK (memcmp (buf, "pong", 4) == 0, "REQ reply content");
    CHECK_ERR (zmq_recv (req, buf, sizeof buf, ZMQ_DONTWAIT), EFSM,
               "REQ recv twice -> EFSM");

    /* the sockets still work after the refused calls */
    CHECK (zmq_send (req, "again", 5, 0) == 5, "REQ usable after EFSM");
    CHECK (zmq_recv (rep, buf, sizeof buf, 0) == 5, "REP usable after EFSM");
    CHECK (zmq_send (rep, "ok", 2, 0) == 2, "REP replies again");
    CHECK (zmq_recv (req, buf, sizeof buf, 0) == 2, "REQ second reply");

    /* wrong direction */
    void *push = tu_socket (ctx, ZMQ_PUSH);
    void *pull = tu_socket (ctx, ZMQ_PULL);
    void *sub = tu_socket (ctx, ZMQ_SUB);
    void *pub = tu_socket (ctx, ZMQ_PUB);
    CHECK_ERR (zmq_recv (push, buf, 1, ZMQ_DONTWAIT), ENOTSUP,
               "recv on PUSH -> ENOTSUP");
    CHECK_ERR (zmq_send (pull, "a", 1, ZMQ_DONTWAIT), ENOTSUP,
               "send on PULL -> ENOTSUP");
    CHECK_ERR (zmq_send (sub, "a", 1, ZMQ_DONTWAIT), ENOTSUP,
               "send on SUB -> ENOTSUP");
    CHECK_ERR (zmq_recv (pub, buf, 1, ZMQ_DONTWAIT), ENOTSUP,
               "recv on PUB -> ENOTSUP");

    CHECK_OK (zmq_close (push), "close push");
    CHECK_OK (zmq_close (pull), "close pull");
    CHECK_OK (zmq_close (sub), "close sub");
    CHECK_OK (zmq_close (pub), "close pub");
    CHECK_OK (zmq_close (req), "close req");
    CHECK_OK (zmq_close (rep), "close rep");
}

static void test_eagain (void *ctx)
{
    char buf[16];
    void *pull = tu_socket (ctx, ZMQ_PULL);
    char ep[256];
    tu_bind_ephemeral (pull, "tcp", ep, sizeof ep);

    /* DONTWAIT on an empty socket */
    CHECK_ERR (zmq_recv (pull, buf, sizeof buf, ZMQ_DONTWAIT), EAGAIN,
               "recv DONTWAIT with nothing queued -> EAGAIN");

    /* RCVTIMEO expiry */
    tu_set_int (pull, ZMQ_RCVTIMEO, 200, "set RCVTIMEO 200");
    int64_t t0 = tu_now_ms ();
    CHECK_ERR (zmq_recv (pull, buf, sizeof buf, 0), EAGAIN,
               "recv with RCVTIMEO expiry -> EAGAIN");
    int64_t waited = tu_now_ms () - t0;
    printf ("RCVTIMEO 200 ms waited %lld ms\n", (long long) waited);
    CHECK (waited >= 150, "RCVTIMEO waits about the timeout");
    CHECK (waited < 5000, "RCVTIMEO does not wait far too long");

    /* zmq_msg_recv honours it too */
    zmq_msg_t msg;
    CHECK_OK (zmq_msg_init (&msg), "msg init");
    CHECK_ERR (zmq_msg_recv (&msg, pull, 0), EAGAIN,
               "msg_recv with RCVTIMEO expiry -> EAGAIN");
    CHECK_ERR (zmq_msg_recv (&msg, pull, ZMQ_DONTWAIT), EAGAIN,
               "msg_recv DONTWAIT -> EAGAIN");
    CHECK_OK (zmq_msg_close (&msg), "msg close");

    /* PUSH with no peer at all: nowhere to queue the message */
    void *push = tu_socket (ctx, ZMQ_PUSH);
    char ep2[256];
    tu_bind_ephemeral (push, "tcp", ep2, sizeof ep2);
    CHECK_ERR (zmq_send (push, "a", 1, ZMQ_DONTWAIT), EAGAIN,
               "PUSH send DONTWAIT without peer -> EAGAIN");
    tu_set_int (push, ZMQ_SNDTIMEO, 200, "set SNDTIMEO 200");
    t0 = tu_now_ms ();
    CHECK_ERR (zmq_send (push, "a", 1, 0), EAGAIN,
               "PUSH send with SNDTIMEO and no peer -> EAGAIN");
    waited = tu_now_ms () - t0;
    printf ("SNDTIMEO 200 ms waited %lld ms\n", (long long) waited);
    CHECK (waited >= 150, "SNDTIMEO waits about the timeout");
    CHECK (waited < 5000, "SNDTIMEO does not wait far too long");

    /* PUSH at its high-water mark: peer attached but never reads */
    void *push2 = tu_socket (ctx, ZMQ_PUSH);
    void *pull2 = tu_socket (ctx, ZMQ_PULL);
    tu_set_int (push2, ZMQ_SNDHWM, 5, "set SNDHWM 5");
    tu_set_int (pull2, ZMQ_RCVHWM, 5, "set RCVHWM 5");
    char ep3[256];
    tu_bind_ephemeral (pull2, "inproc", ep3, sizeof ep3);
    CHECK_OK (zmq_connect (push2, ep3), "connect push2");
    tu_set_int (push2, ZMQ_SNDTIMEO, 200, "set SNDTIMEO 200");
    int sent = 0;
    while (sent < 1000) {
        int rc = zmq_send (push2, "m", 1, 0);
        if (rc == -1) {
            CHECK (errno == EAGAIN, "send at HWM -> EAGAIN after SNDTIMEO");
            break;
        }
        sent++;
    }
    printf ("PUSH with HWM 5+5 accepted %d messages before EAGAIN\n", sent);
    CHECK (sent >= 5 && sent < 1000, "HWM stops the sender");
    CHECK_ERR (zmq_send (push2, "m", 1, ZMQ_DONTWAIT), EAGAIN,
               "send DONTWAIT at HWM -> EAGAIN");
    /* everything queued is delivered */
    for (int i = 0; i < sent; i++) {
        int n = zmq_recv (pull2, buf, sizeof buf, 0);
        CHECK (n == 1 && buf[0] == 'm', "queued message delivered");
    }
    CHECK_ERR (zmq_recv (pull2, buf, sizeof buf, ZMQ_DONTWAIT), EAGAIN,
               "no extra message after draining");

    CHECK_OK (zmq_close (push2), "close push2");
    CHECK_OK (zmq_close (pull2), "close pull2");
    CHECK_OK (zmq_close (push), "close push");
    CHECK_OK (zmq_close (pull), "close pull");
}

int main (void)
{
    tu_init (50);
    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");

    test_bad_endpoints (ctx);
    printf ("bad endpoints: OK\n");
    test_bad_options (ctx);
    printf ("bad options: OK\n");
    test_null_pointers (ctx);
    printf ("NULL pointers: OK\n");
    test_efsm (ctx);
    printf ("EFSM / ENOTSUP: OK\n");
    test_eagain (ctx);
    printf ("EAGAIN: OK\n");

    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    return 0;
}
