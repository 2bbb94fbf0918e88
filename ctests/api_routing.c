/*
 * API conformance: addressing and routing.
 *  - ROUTER_MANDATORY: EHOSTUNREACH for an unknown routing id (silent drop
 *    without it)
 *  - DEALER/ROUTER with ZMQ_ROUTING_ID, generated ids otherwise
 *  - REQ_CORRELATE / REQ_RELAXED
 *  - zmq_unbind / zmq_disconnect
 *  - EADDRINUSE (inproc and tcp), inproc connect-before-bind
 */
#include "testutil.h"

static void recv_frame (void *s, const char *expected, size_t len, int more,
                        const char *name)
{
    zmq_msg_t m;
    CHECK_OK (zmq_msg_init (&m), name);
    CHECK (zmq_msg_recv (&m, s, 0) == (int) len, name);
    CHECK (memcmp (zmq_msg_data (&m), expected, len) == 0, name);
    CHECK (zmq_msg_more (&m) == more, name);
    CHECK_OK (zmq_msg_close (&m), name);
}

static void test_router (void *ctx)
{
    void *router = tu_socket (ctx, ZMQ_ROUTER);
    char ep[256];
    tu_bind_ephemeral (router, "tcp", ep, sizeof ep);

    /* without ROUTER_MANDATORY, unknown peers are silently dropped */
    CHECK (zmq_send (router, "nobody", 6, ZMQ_SNDMORE) == 6,
           "ROUTER send to unknown id (id frame) succeeds");
    CHECK (zmq_send (router, "lost", 4, 0) == 4,
           "ROUTER send to unknown id (body) is silently dropped");

    int one = 1;
    CHECK_OK (zmq_setsockopt (router, ZMQ_ROUTER_MANDATORY, &one, sizeof one),
              "set ROUTER_MANDATORY");
    CHECK_ERR (zmq_send (router, "nobody", 6, ZMQ_SNDMORE), EHOSTUNREACH,
               "ROUTER_MANDATORY send to unknown id -> EHOSTUNREACH");

    /* named dealer */
    void *named = tu_socket (ctx, ZMQ_DEALER);
    CHECK_OK (zmq_setsockopt (named, ZMQ_ROUTING_ID, "dealer-A", 8),
              "set ROUTING_ID");
    CHECK_OK (zmq_connect (named, ep), "connect named dealer");
    /* anonymous dealer */
    void *anon = tu_socket (ctx, ZMQ_DEALER);
    CHECK_OK (zmq_connect (anon, ep), "connect anonymous dealer");

    CHECK (zmq_send (named, "from A", 6, 0) == 6, "named dealer sends");
    recv_frame (router, "dealer-A", 8, 1, "ROUTER sees the set routing id");
    recv_frame (router, "from A", 6, 0, "ROUTER gets named dealer's body");

    CHECK (zmq_send (anon, "from anon", 9, 0) == 9, "anonymous dealer sends");
    zmq_msg_t id;
    CHECK_OK (zmq_msg_init (&id), "init");
    CHECK (zmq_msg_recv (&id, router, 0) == 5, "generated routing id is 5 bytes");
    CHECK (((unsigned char *) zmq_msg_data (&id))[0] == 0,
           "generated routing id starts with a zero byte");
    CHECK (zmq_msg_more (&id), "routing id frame has MORE");
    recv_frame (router, "from anon", 9, 0, "ROUTER gets anonymous body");

    /* replies are routed by id */
    CHECK (zmq_send (router, "dealer-A", 8, ZMQ_SNDMORE) == 8, "route to A");
    CHECK (zmq_send (router, "to A", 4, 0) == 4, "body to A");
    CHECK_OK (zmq_msg_send (&id, router, ZMQ_SNDMORE), "route to anon");
    CHECK (zmq_send (router, "to anon", 7, 0) == 7, "body to anon");
    recv_frame (named, "to A", 4, 0, "named dealer gets its reply");
    recv_frame (anon, "to anon", 7, 0, "anonymous dealer gets its reply");
    CHECK_OK (zmq_msg_close (&id), "close");

    /* the ROUTER_MANDATORY refusal did not leave a half-sent message */
    CHECK (zmq_send (router, "dealer-A", 8, ZMQ_SNDMORE) == 8, "route to A");
    CHECK (zmq_send (router, "again", 5, 0) == 5, "body");
    recv_frame (named, "again", 5, 0, "clean state after EHOSTUNREACH");

    CHECK_OK (zmq_close (named), "close");
    CHECK_OK (zmq_close (anon), "close");
    CHECK_OK (zmq_close (router), "close");
}

static void test_req_correlate_relaxed (void *ctx)
{
    void *router = tu_socket (ctx, ZMQ_ROUTER);
    void *req = tu_socket (ctx, ZMQ_REQ);
    char ep[256];
    tu_bind_ephemeral (router, "inproc", ep, sizeof ep);
    int one = 1;
    CHECK_OK (zmq_setsockopt (req, ZMQ_REQ_RELAXED, &one, sizeof one),
              "set REQ_RELAXED");
    CHECK_OK (zmq_setsockopt (req, ZMQ_REQ_CORRELATE, &one, sizeof one),
              "set REQ_CORRELATE");
    CHECK_OK (zmq_setsockopt (req, ZMQ_ROUTING_ID, "R", 1), "set ROUTING_ID");
    CHECK_OK (zmq_connect (req, ep), "connect");

    /* first request */
    CHECK (zmq_send (req, "r1", 2, 0) == 2, "REQ sends r1");
    zmq_msg_t f[8];
    int n = tu_recv_multipart (router, f, 8, "ROUTER receives r1");
    CHECK (n == 4, "correlated request has 4 frames: id, reqid, empty, body");
    CHECK (zmq_msg_size (&f[0]) == 1 && *(char *) zmq_msg_data (&f[0]) == 'R',
           "frame 1 is the routing id");
    CHECK (zmq_msg_size (&f[1]) == 4, "frame 2 is a 4-byte request id");
    CHECK (zmq_msg_size (&f[2]) == 0, "frame 3 is the empty delimiter");
    CHECK (zmq_msg_size (&f[3]) == 2 && memcmp (zmq_msg_data (&f[3]), "r1", 2) == 0,
           "frame 4 is the body");
    unsigned char reqid1[4];
    memcpy (reqid1, zmq_msg_data (&f[1]), 4);
    for (int i = 0; i < n; i++)
        zmq_msg_close (&f[i]);

    /* RELAXED: a second send is allowed without waiting for the reply */
    CHECK (zmq_send (req, "r2", 2, 0) == 2, "REQ_RELAXED allows a second send");
    n = tu_recv_multipart (router, f, 8, "ROUTER receives r2");
    CHECK (n == 4, "second request has 4 frames");
    unsigned char reqid2[4];
    memcpy (reqid2, zmq_msg_data (&f[1]), 4);
    CHECK (memcmp (reqid1, reqid2, 4) != 0, "request ids differ");
    CHECK (memcmp (zmq_msg_data (&f[3]), "r2", 2) == 0, "second body");
    for (int i = 0; i < n; i++)
        zmq_msg_close (&f[i]);

    /* CORRELATE: the stale reply to r1 is discarded, r2's is delivered */
    CHECK (zmq_send (router, "R", 1, ZMQ_SNDMORE) == 1, "stale reply id");
    CHECK (zmq_send (router, reqid1, 4, ZMQ_SNDMORE) == 4, "stale reqid");
    CHECK (zmq_send (router, "", 0, ZMQ_SNDMORE) == 0, "stale delimiter");
    CHECK (zmq_send (router, "reply1", 6, 0) == 6, "stale body");
    CHECK (zmq_send (router, "R", 1, ZMQ_SNDMORE) == 1, "reply id");
    CHECK (zmq_send (router, reqid2, 4, ZMQ_SNDMORE) == 4, "reqid");
    CHECK (zmq_send (router, "", 0, ZMQ_SNDMORE) == 0, "delimiter");
    CHECK (zmq_send (router, "reply2", 6, 0) == 6, "body");

    tu_recv_expect (req, "reply2", "REQ_CORRELATE drops the stale reply");
    int more = 1;
    size_t sz = sizeof more;
    CHECK_OK (zmq_getsockopt (req, ZMQ_RCVMORE, &more, &sz), "RCVMORE");
    CHECK (more == 0, "REQ delivers only the body");

    CHECK_OK (zmq_close (req), "close");

    /* plain REQ sends just [empty, body] */
    req = tu_socket (ctx, ZMQ_REQ);
    CHECK_OK (zmq_setsockopt (req, ZMQ_ROUTING_ID, "P", 1), "set ROUTING_ID");
    CHECK_OK (zmq_connect (req, ep), "connect");
    CHECK (zmq_send (req, "plain", 5, 0) == 5, "plain REQ send");
    n = tu_recv_multipart (router, f, 8, "ROUTER receives plain");
    CHECK (n == 3, "plain REQ request has 3 frames: id, empty, body");
    CHECK (zmq_msg_size (&f[1]) == 0, "plain REQ delimiter");
    for (int i = 0; i < n; i++)
        zmq_msg_close (&f[i]);
    CHECK_OK (zmq_close (req), "close");
    CHECK_OK (zmq_close (router), "close");
}

static void test_unbind_disconnect (void *ctx)
{
    char ep[256];
    void *pull = tu_socket (ctx, ZMQ_PULL);
    CHECK_OK (zmq_bind (pull, "tcp://127.0.0.1:*"), "bind wildcard");
    tu_last_endpoint (pull, ep, sizeof ep);
    CHECK_ERR (zmq_unbind (pull, "tcp://127.0.0.1:*"), ENOENT,
               "unbind by wildcard string -> ENOENT");
    CHECK_ERR (zmq_unbind (pull, "tcp://127.0.0.1:1"), ENOENT,
               "unbind endpoint never bound -> ENOENT");
    CHECK_OK (zmq_unbind (pull, ep), "unbind by LAST_ENDPOINT");
    CHECK_ERR (zmq_unbind (pull, ep), ENOENT, "second unbind -> ENOENT");

    /* after unbind the port can be bound again */
    void *other = tu_socket (ctx, ZMQ_PULL);
    int rc = zmq_bind (other, ep);
    CHECK (rc == 0 || errno == EADDRINUSE, "rebind after unbind");
    CHECK_OK (zmq_close (other), "close");

    /* inproc: name released by unbind */
    char iep[256];
    tu_make_endpoint ("inproc", iep, sizeof iep);
    CHECK_OK (zmq_bind (pull, iep), "bind inproc");
    void *dup = tu_socket (ctx, ZMQ_PULL);
    CHECK_ERR (zmq_bind (dup, iep), EADDRINUSE,
               "second inproc bind -> EADDRINUSE");
    CHECK_OK (zmq_unbind (pull, iep), "unbind inproc");
    CHECK_OK (zmq_bind (dup, iep), "inproc name reusable after unbind");
    CHECK_OK (zmq_close (dup), "close");

    /* tcp EADDRINUSE */
    void *t1 = tu_socket (ctx, ZMQ_PULL);
    void *t2 = tu_socket (ctx, ZMQ_PULL);
    char tep[256];
    tu_bind_ephemeral (t1, "tcp", tep, sizeof tep);
    CHECK_ERR (zmq_bind (t2, tep), EADDRINUSE, "second tcp bind -> EADDRINUSE");
    CHECK_OK (zmq_close (t1), "close");
    CHECK_OK (zmq_close (t2), "close");

    /* disconnect: after disconnecting from A, everything goes to B */
    void *a = tu_socket (ctx, ZMQ_PULL);
    void *b = tu_socket (ctx, ZMQ_PULL);
    void *push = tu_socket (ctx, ZMQ_PUSH);
    char aep[256], bep[256];
    tu_bind_ephemeral (a, "inproc", aep, sizeof aep);
    tu_bind_ephemeral (b, "inproc", bep, sizeof bep);
    CHECK_OK (zmq_connect (push, aep), "connect A");
    CHECK_OK (zmq_connect (push, bep), "connect B");
    CHECK_ERR (zmq_disconnect (push, "inproc://never-connected"), ENOENT,
               "disconnect unknown endpoint -> ENOENT");
    CHECK_OK (zmq_disconnect (push, aep), "disconnect A");
    CHECK_ERR (zmq_disconnect (push, aep), ENOENT,
               "second disconnect -> ENOENT");
    for (int i = 0; i < 10; i++)
        CHECK (zmq_send (push, "m", 1, 0) == 1, "send after disconnect");
    char buf[4];
    for (int i = 0; i < 10; i++)
        CHECK (zmq_recv (b, buf, sizeof buf, 0) == 1,
               "B gets every message after A was disconnected");
    CHECK_ERR (zmq_recv (a, buf, sizeof buf, ZMQ_DONTWAIT), EAGAIN,
               "A gets nothing after disconnect");

    /* tcp disconnect bookkeeping */
    char xep[256];
    tu_bind_ephemeral (a, "tcp", xep, sizeof xep);
    CHECK_OK (zmq_connect (push, xep), "connect tcp");
    CHECK_OK (zmq_disconnect (push, xep), "disconnect tcp");
    CHECK_ERR (zmq_disconnect (push, xep), ENOENT,
               "second tcp disconnect -> ENOENT");

    CHECK_OK (zmq_close (push), "close");
    CHECK_OK (zmq_close (a), "close");
    CHECK_OK (zmq_close (b), "close");
    CHECK_OK (zmq_close (pull), "close");
}

static void test_connect_before_bind (void *ctx)
{
    char ep[256];
    tu_make_endpoint ("inproc", ep, sizeof ep);
    void *push = tu_socket (ctx, ZMQ_PUSH);
    CHECK_OK (zmq_connect (push, ep), "inproc connect before bind");
    for (int i = 0; i < 3; i++) {
        char m[16];
        snprintf (m, sizeof m, "early %d", i);
        tu_send_str (push, m, 0, "send before the peer exists");
    }
    void *pull = tu_socket (ctx, ZMQ_PULL);
    CHECK_OK (zmq_bind (pull, ep), "late bind");
    tu_recv_expect (pull, "early 0", "queued message 0 delivered after bind");
    tu_recv_expect (pull, "early 1", "queued message 1 delivered in order");
    tu_recv_expect (pull, "early 2", "queued message 2 delivered in order");
    tu_send_str (push, "late", 0, "send after bind");
    tu_recv_expect (pull, "late", "message after bind");

    /* the reverse direction too (PAIR) */
    char ep2[256];
    tu_make_endpoint ("inproc", ep2, sizeof ep2);
    void *p1 = tu_socket (ctx, ZMQ_PAIR);
    CHECK_OK (zmq_connect (p1, ep2), "PAIR connect before bind");
    void *p2 = tu_socket (ctx, ZMQ_PAIR);
    CHECK_OK (zmq_bind (p2, ep2), "PAIR late bind");
    tu_send_str (p2, "to connecter", 0, "bound side sends");
    tu_recv_expect (p1, "to connecter", "connecter receives");
    tu_send_str (p1, "to binder", 0, "connecter sends");
    tu_recv_expect (p2, "to binder", "binder receives");

    CHECK_OK (zmq_close (p1), "close");
    CHECK_OK (zmq_close (p2), "close");
    CHECK_OK (zmq_close (push), "close");
    CHECK_OK (zmq_close (pull), "close");
}

int main (void)
{
    tu_init (50);
    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");

    test_router (ctx);
    printf ("ROUTER / ROUTING_ID / ROUTER_MANDATORY: OK\n");
    test_req_correlate_relaxed (ctx);
    printf ("REQ_CORRELATE / REQ_RELAXED: OK\n");
    test_unbind_disconnect (ctx);
    printf ("unbind / disconnect / EADDRINUSE: OK\n");
    test_connect_before_bind (ctx);
    printf ("inproc connect-before-bind: OK\n");

    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    return 0;
}
