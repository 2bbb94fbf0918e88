/*
 * zmq_proxy_steerable: a ROUTER/DEALER proxy with a capture socket and a
 * control socket, steered with PAUSE, RESUME, STATISTICS and TERMINATE.
 *
 * A REQ client (routing id "C1") talks through the proxy to a REP worker.
 *  - every frame crossing the proxy is copied to the capture socket;
 *  - STATISTICS answers 8 uint64 frames: frontend received messages/bytes,
 *    frontend sent messages/bytes, then the same for the backend;
 *  - after PAUSE nothing is forwarded (a request waits), after RESUME it
 *    goes through;
 *  - TERMINATE makes zmq_proxy_steerable return 0.
 *
 * libzmq changed the control protocol in 4.3.5, so the expectations follow
 * the version the library reports:
 *  - 4.3.5: the control socket is a REP; every command gets a reply (an
 *    empty frame, or the 8 statistics frames), so the application uses REQ;
 *    statistics count frames ("messages" = message parts).
 *  - up to 4.3.4: only STATISTICS is answered, so a REP control socket
 *    would stall after PAUSE; a PAIR is used instead. Statistics count
 *    whole multipart messages, and control commands are copied to the
 *    capture socket as well (skipped here).
 * Note: the 4.3.5 release itself has PAUSE and RESUME swapped (a bug fixed
 * upstream afterwards); this test checks the documented meaning.
 */
#include "ps_util.h"

static int v435;

typedef struct
{
    void *frontend, *backend, *capture, *control;
    int rc, err;
} proxy_t;

static void *proxy_main (void *arg)
{
    proxy_t *p = arg;
    p->rc =
      zmq_proxy_steerable (p->frontend, p->backend, p->capture, p->control);
    p->err = errno;
    ps_close (p->frontend);
    ps_close (p->backend);
    ps_close (p->capture);
    ps_close (p->control);
    return NULL;
}

/* Send a command; on 4.3.5 the proxy acknowledges it with an empty frame. */
static void command (void *ctl, const char *cmd)
{
    tu_send_str (ctl, cmd, 0, "send control command");
    if (v435) {
        char buf[64];
        int more = 1;
        int n = ps_recv_part (ctl, buf, sizeof buf, &more,
                              "control command acknowledged");
        CHECK (!more, "acknowledgement is one frame");
        if (n != 0)
            fprintf (stderr, "%s acknowledged with \"%s\"\n", cmd, buf);
        CHECK (n == 0, "acknowledgement is an empty frame");
    }
}

static void statistics (void *ctl, uint64_t out[8])
{
    tu_send_str (ctl, "STATISTICS", 0, "send STATISTICS");
    for (int i = 0; i < 8; i++) {
        zmq_msg_t m;
        CHECK_OK (zmq_msg_init (&m), "msg init");
        CHECK_OK (zmq_msg_recv (&m, ctl, 0), "receive a statistics frame");
        CHECK (zmq_msg_size (&m) == sizeof (uint64_t),
               "statistics frame is a uint64");
        memcpy (&out[i], zmq_msg_data (&m), sizeof (uint64_t));
        CHECK (zmq_msg_more (&m) == (i < 7), "exactly 8 statistics frames");
        zmq_msg_close (&m);
    }
}

/* Expected statistics after n request/reply round trips of [C1][][x]
 * (x is 7 bytes): 3 frames and 9 bytes each way. */
static void expect_statistics (void *ctl, uint64_t n)
{
    uint64_t s[8];
    statistics (ctl, s);
    uint64_t msgs = v435 ? 3 * n : n, bytes = 9 * n;
    uint64_t want[8] = {msgs, bytes, msgs, bytes, msgs, bytes, msgs, bytes};
    for (int i = 0; i < 8; i++)
        if (s[i] != want[i]) {
            fprintf (stderr, "statistics[%d] = %llu, expected %llu\n", i,
                     (unsigned long long) s[i], (unsigned long long) want[i]);
            CHECK (0, "statistics values");
        }
}

/* Next captured frame. Before 4.3.5 the proxy also copied the control
 * commands to the capture socket; those are skipped there. */
static int capture_next (void *cap, char *buf, size_t len, int *more,
                         int wait)
{
    while (1) {
        if (!wait && !ps_wait_in (cap, 0))
            return 0;
        ps_recv_part (cap, buf, len, more, "capture: receive");
        if (!v435 && !*more
            && (strcmp (buf, "PAUSE") == 0 || strcmp (buf, "RESUME") == 0
                || strcmp (buf, "STATISTICS") == 0))
            continue;
        return 1;
    }
}

static void expect_capture (void *cap, const char *body)
{
    char buf[64];
    int more = 0;
    capture_next (cap, buf, sizeof buf, &more, 1);
    if (strcmp (buf, "C1") != 0)
        fprintf (stderr, "capture: got \"%s\" (more=%d)\n", buf, more);
    CHECK (strcmp (buf, "C1") == 0 && more, "capture: routing id frame");
    ps_recv_part (cap, buf, sizeof buf, &more, "capture: delimiter");
    CHECK (buf[0] == '\0' && more, "capture: empty delimiter frame");
    ps_recv_part (cap, buf, sizeof buf, &more, "capture: body");
    CHECK (strcmp (buf, body) == 0 && !more, "capture: body frame");
}

static void round_trip (void *client, void *worker, void *cap, int i)
{
    char req[16], rep[16];
    snprintf (req, sizeof req, "hello-%d", i);
    snprintf (rep, sizeof rep, "world-%d", i);
    tu_send_str (client, req, 0, "client sends");
    tu_recv_expect (worker, req, "worker receives through the proxy");
    tu_send_str (worker, rep, 0, "worker replies");
    tu_recv_expect (client, rep, "client receives the reply");
    expect_capture (cap, req);
    expect_capture (cap, rep);
}

int main (void)
{
    tu_init (50);
    v435 = ps_version_at_least (4, 3, 5);
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    printf ("library %d.%d.%d: %s control protocol\n", major, minor, patch,
            v435 ? "REP (4.3.5)" : "PAIR (pre-4.3.5)");

    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");
    proxy_t proxy = {tu_socket (ctx, ZMQ_ROUTER), tu_socket (ctx, ZMQ_DEALER),
                     tu_socket (ctx, ZMQ_PUSH),
                     tu_socket (ctx, v435 ? ZMQ_REP : ZMQ_PAIR), 0, 0};
    char front_ep[256], back_ep[256], cap_ep[256], ctl_ep[256];
    tu_bind_ephemeral (proxy.frontend, "tcp", front_ep, sizeof front_ep);
    tu_bind_ephemeral (proxy.backend, "tcp", back_ep, sizeof back_ep);
    tu_bind_ephemeral (proxy.capture, "inproc", cap_ep, sizeof cap_ep);
    tu_bind_ephemeral (proxy.control, "inproc", ctl_ep, sizeof ctl_ep);

    void *cap = tu_socket (ctx, ZMQ_PULL);
    CHECK_OK (zmq_connect (cap, cap_ep), "capture reader connects");
    void *ctl = tu_socket (ctx, v435 ? ZMQ_REQ : ZMQ_PAIR);
    CHECK_OK (zmq_connect (ctl, ctl_ep), "controller connects");
    void *client = tu_socket (ctx, ZMQ_REQ);
    CHECK_OK (zmq_setsockopt (client, ZMQ_ROUTING_ID, "C1", 2),
              "client routing id");
    CHECK_OK (zmq_connect (client, front_ep), "client connects");
    void *worker = tu_socket (ctx, ZMQ_REP);
    CHECK_OK (zmq_connect (worker, back_ep), "worker connects");

    pthread_t pt = tu_thread_start (proxy_main, &proxy);

    expect_statistics (ctl, 0);
    round_trip (client, worker, cap, 1);
    expect_statistics (ctl, 1);

    /* PAUSE: STATISTICS afterwards also proves PAUSE was processed. */
    command (ctl, "PAUSE");
    expect_statistics (ctl, 1);
    tu_send_str (client, "hello-2", 0, "client sends while paused");
    ps_expect_silence (worker, 300,
                       "nothing is forwarded while paused (the libzmq 4.3.5 "
                       "release has PAUSE/RESUME swapped)");
    expect_statistics (ctl, 1);
    {
        char buf[64];
        int more = 0;
        CHECK (!capture_next (cap, buf, sizeof buf, &more, 0),
               "nothing captured while paused");
    }

    command (ctl, "RESUME");
    tu_recv_expect (worker, "hello-2", "the request goes through on RESUME");
    tu_send_str (worker, "world-2", 0, "worker replies");
    tu_recv_expect (client, "world-2", "client receives the reply");
    expect_capture (cap, "hello-2");
    expect_capture (cap, "world-2");
    expect_statistics (ctl, 2);

    round_trip (client, worker, cap, 3);
    expect_statistics (ctl, 3);

    command (ctl, "TERMINATE");
    tu_thread_join (pt);
    CHECK (proxy.rc == 0, "zmq_proxy_steerable returns 0 on TERMINATE");

    ps_close (cap);
    ps_close (ctl);
    ps_close (client);
    ps_close (worker);
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    printf ("steerable: OK\n");
    return 0;
}
