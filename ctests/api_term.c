/*
 * API conformance: context termination.
 *  - zmq_ctx_term from another thread wakes a thread blocked in zmq_recv
 *    (and one blocked in zmq_poll) with ETERM; zmq_ctx_term returns once
 *    those sockets are closed
 *  - after zmq_ctx_shutdown every call on the context or its sockets fails
 *    with ETERM; closing still works
 *  - LINGER bounds how long zmq_ctx_term waits for unsent messages
 */
#include "testutil.h"

typedef struct
{
    void *ctx;
    void *sock;
    int started;
    int result_errno;
    int result_rc;
} blocker_t;

static void *blocked_recv (void *arg)
{
    blocker_t *b = arg;
    char buf[16];
    __atomic_store_n (&b->started, 1, __ATOMIC_SEQ_CST);
    b->result_rc = zmq_recv (b->sock, buf, sizeof buf, 0);
    b->result_errno = errno;
    CHECK_OK (zmq_close (b->sock), "blocked thread closes its socket");
    return NULL;
}

static void *blocked_poll (void *arg)
{
    blocker_t *b = arg;
    zmq_pollitem_t items[1] = {{b->sock, 0, ZMQ_POLLIN, 0}};
    __atomic_store_n (&b->started, 1, __ATOMIC_SEQ_CST);
    b->result_rc = zmq_poll (items, 1, -1);
    b->result_errno = errno;
    CHECK_OK (zmq_close (b->sock), "polling thread closes its socket");
    return NULL;
}

static void *term_thread (void *arg)
{
    blocker_t *b = arg;
    b->result_rc = zmq_ctx_term (b->ctx);
    b->result_errno = errno;
    return NULL;
}

static void wait_started (blocker_t *b)
{
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    while (!__atomic_load_n (&b->started, __ATOMIC_SEQ_CST)) {
        CHECK (tu_now_ms () < deadline, "blocking thread starts");
        tu_sleep_ms (1);
    }
    /* Give it a moment to actually enter the blocking call. Whether it is
     * already blocked or not, the outcome must be ETERM either way. */
    tu_sleep_ms (100);
}

static void test_term_wakes_blocked_recv (void)
{
    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");
    blocker_t rb = {ctx, NULL, 0, 0, 0};
    blocker_t pb = {ctx, NULL, 0, 0, 0};
    blocker_t tb = {ctx, NULL, 0, 0, 0};

    rb.sock = zmq_socket (ctx, ZMQ_PULL); /* infinite RCVTIMEO */
    CHECK (rb.sock != NULL, "socket for recv");
    CHECK_OK (zmq_bind (rb.sock, "inproc://term-recv"), "bind recv socket");
    pb.sock = zmq_socket (ctx, ZMQ_PULL);
    CHECK (pb.sock != NULL, "socket for poll");
    CHECK_OK (zmq_bind (pb.sock, "tcp://127.0.0.1:*"), "bind poll socket");

    pthread_t rt = tu_thread_start (blocked_recv, &rb);
    pthread_t pt = tu_thread_start (blocked_poll, &pb);
    wait_started (&rb);
    wait_started (&pb);

    int64_t t0 = tu_now_ms ();
    pthread_t tt = tu_thread_start (term_thread, &tb);
    tu_thread_join (rt);
    tu_thread_join (pt);
    tu_thread_join (tt);
    printf ("termination took %lld ms\n", (long long) (tu_now_ms () - t0));

    CHECK (rb.result_rc == -1, "blocked zmq_recv returns -1 on term");
    CHECK (rb.result_errno == ETERM, "blocked zmq_recv fails with ETERM");
    CHECK (pb.result_rc == -1, "blocked zmq_poll returns -1 on term");
    CHECK (pb.result_errno == ETERM, "blocked zmq_poll fails with ETERM");
    CHECK (tb.result_rc == 0, "zmq_ctx_term returns 0 after sockets closed");
}

static void test_calls_after_shutdown (void)
{
    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");
    void *s = tu_socket (ctx, ZMQ_DEALER);
    void *peer = tu_socket (ctx, ZMQ_DEALER);
    CHECK_OK (zmq_bind (s, "inproc://term-after"), "bind");
    CHECK_OK (zmq_connect (peer, "inproc://term-after"), "connect");
    CHECK (zmq_send (peer, "x", 1, 0) == 1, "send before shutdown");

    CHECK_OK (zmq_ctx_shutdown (ctx), "zmq_ctx_shutdown");

    char buf[8];
    zmq_msg_t msg;
    CHECK_OK (zmq_msg_init (&msg), "msg init");
    CHECK_NULL_ERR (zmq_socket (ctx, ZMQ_PAIR), ETERM,
                    "zmq_socket after shutdown -> NULL/ETERM");
    CHECK_ERR (zmq_recv (s, buf, sizeof buf, 0), ETERM,
               "recv after shutdown -> ETERM (even with a message queued)");
    CHECK_ERR (zmq_recv (s, buf, sizeof buf, ZMQ_DONTWAIT), ETERM,
               "recv DONTWAIT after shutdown -> ETERM");
    CHECK_ERR (zmq_send (s, "y", 1, 0), ETERM, "send after shutdown -> ETERM");
    CHECK_ERR (zmq_msg_recv (&msg, s, 0), ETERM,
               "msg_recv after shutdown -> ETERM");
    CHECK_ERR (zmq_bind (s, "inproc://term-after-2"), ETERM,
               "bind after shutdown -> ETERM");
    CHECK_ERR (zmq_connect (s, "inproc://term-after-3"), ETERM,
               "connect after shutdown -> ETERM");
    zmq_pollitem_t items[1] = {{s, 0, ZMQ_POLLIN, 0}};
    CHECK_ERR (zmq_poll (items, 1, 0), ETERM, "poll after shutdown -> ETERM");
    CHECK_OK (zmq_msg_close (&msg), "msg close");

    CHECK_OK (zmq_close (s), "close after shutdown works");
    CHECK_OK (zmq_close (peer), "close peer after shutdown works");
    CHECK_OK (zmq_ctx_term (ctx), "ctx_term after shutdown");
}

static void test_linger (void)
{
    char ep[256];
    /* nobody will ever listen there */
    snprintf (ep, sizeof ep, "ipc:///tmp/zt-%d-nobody", (int) getpid ());

    /* LINGER 0: the pending message is dropped, term is immediate */
    void *ctx = zmq_ctx_new ();
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    tu_set_int (push, ZMQ_LINGER, 0, "LINGER 0");
    CHECK_OK (zmq_connect (push, ep), "connect to absent peer");
    CHECK (zmq_send (push, "pending", 7, 0) == 7,
           "message queued for a not-yet-connected peer");
    CHECK_OK (zmq_close (push), "close");
    int64_t t0 = tu_now_ms ();
    CHECK_OK (zmq_ctx_term (ctx), "term with LINGER 0");
    int64_t took = tu_now_ms () - t0;
    printf ("term with LINGER 0 took %lld ms\n", (long long) took);
    CHECK (took < 1000, "LINGER 0 term does not wait");

    /* LINGER 300: term waits about that long, then gives up */
    ctx = zmq_ctx_new ();
    push = zmq_socket (ctx, ZMQ_PUSH);
    tu_set_int (push, ZMQ_LINGER, 300, "LINGER 300");
    int linger = 0;
    size_t sz = sizeof linger;
    CHECK_OK (zmq_getsockopt (push, ZMQ_LINGER, &linger, &sz), "get LINGER");
    CHECK (linger == 300, "LINGER reads back");
    CHECK_OK (zmq_connect (push, ep), "connect to absent peer");
    CHECK (zmq_send (push, "pending", 7, 0) == 7, "message queued");
    CHECK_OK (zmq_close (push), "close");
    t0 = tu_now_ms ();
    CHECK_OK (zmq_ctx_term (ctx), "term with LINGER 300");
    took = tu_now_ms () - t0;
    printf ("term with LINGER 300 took %lld ms\n", (long long) took);
    CHECK (took >= 200, "LINGER 300 term waits for the pending message");
    CHECK (took < 5000, "LINGER 300 term gives up");
}

int main (void)
{
    tu_init (50);
    test_term_wakes_blocked_recv ();
    printf ("term wakes blocked recv/poll with ETERM: OK\n");
    test_calls_after_shutdown ();
    printf ("calls after shutdown fail with ETERM: OK\n");
    test_linger ();
    printf ("linger bounds term: OK\n");
    return 0;
}
