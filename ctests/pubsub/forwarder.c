/*
 * A forwarder bridging two networks: zmq_proxy between an XSUB bound on the
 * "inside" endpoint and an XPUB bound on the "outside" one. A publisher
 * inside connects to the XSUB, a subscriber outside connects to the XPUB.
 *
 * The subscriber's subscription must travel SUB -> XPUB -> proxy -> XSUB ->
 * PUB, and data back the same way: the publisher sends probes until the
 * subscriber reports (over a PAIR side channel) that one arrived, then a
 * numbered run on "weather" interleaved with "sport" messages nobody wants.
 * The subscriber must get the whole run, in order, and no "sport".
 * Finally the context is terminated while the proxy runs: zmq_proxy must
 * return -1 with errno ETERM.
 *
 * Usage: forwarder <inside-transport> <outside-transport> (tcp|ipc|inproc)
 */
#include "ps_util.h"

#define RUN 1000

typedef struct
{
    void *xsub, *xpub;
    int rc, err;
} proxy_t;

static void *proxy_main (void *arg)
{
    proxy_t *p = arg;
    p->rc = zmq_proxy (p->xsub, p->xpub, NULL);
    p->err = errno;
    ps_close (p->xsub);
    ps_close (p->xpub);
    return NULL;
}

typedef struct
{
    void *ctx;
    const char *inside_ep;
    const char *side_ep;
} publisher_t;

static void *publisher_main (void *arg)
{
    publisher_t *p = arg;
    void *pub = tu_socket (p->ctx, ZMQ_PUB);
    tu_set_int (pub, ZMQ_SNDHWM, 0, "publisher SNDHWM 0");
    CHECK_OK (zmq_connect (pub, p->inside_ep), "publisher connects inside");
    void *side = tu_socket (p->ctx, ZMQ_PAIR);
    CHECK_OK (zmq_connect (side, p->side_ep), "publisher side channel");

    /* Probe until the subscriber has heard one. */
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    while (!ps_wait_in (side, 10)) {
        CHECK (tu_now_ms () < deadline, "subscription reaches publisher");
        tu_send_str (pub, "weather probe", ZMQ_DONTWAIT, "send probe");
        tu_send_str (pub, "sport probe", ZMQ_DONTWAIT, "send sport probe");
    }
    tu_recv_expect (side, "GOT PROBE", "subscriber heard a probe");

    for (int i = 0; i < RUN; i++) {
        char buf[64];
        snprintf (buf, sizeof buf, "weather %d", i);
        tu_send_str (pub, buf, 0, "publish weather");
        snprintf (buf, sizeof buf, "sport %d", i);
        tu_send_str (pub, buf, 0, "publish sport");
    }
    tu_send_str (pub, "weather END", 0, "publish END");
    /* Keep the socket open until the subscriber has everything. */
    tu_recv_expect (side, "DONE", "subscriber finished");
    ps_close (side);
    ps_close (pub);
    return NULL;
}

int main (int argc, char **argv)
{
    tu_init (50);
    const char *inside = argc > 1 ? argv[1] : "tcp";
    const char *outside = argc > 2 ? argv[2] : "ipc";

    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");

    proxy_t proxy = {tu_socket (ctx, ZMQ_XSUB), tu_socket (ctx, ZMQ_XPUB), 0,
                     0};
    tu_set_int (proxy.xsub, ZMQ_RCVHWM, 0, "xsub RCVHWM 0");
    tu_set_int (proxy.xpub, ZMQ_SNDHWM, 0, "xpub SNDHWM 0");
    char inside_ep[256], outside_ep[256], side_ep[256];
    tu_bind_ephemeral (proxy.xsub, inside, inside_ep, sizeof inside_ep);
    tu_bind_ephemeral (proxy.xpub, outside, outside_ep, sizeof outside_ep);
    pthread_t pt = tu_thread_start (proxy_main, &proxy);

    void *side = tu_socket (ctx, ZMQ_PAIR);
    tu_bind_ephemeral (side, "inproc", side_ep, sizeof side_ep);

    void *sub = tu_socket (ctx, ZMQ_SUB);
    tu_set_int (sub, ZMQ_RCVHWM, 0, "sub RCVHWM 0");
    CHECK_OK (zmq_connect (sub, outside_ep), "subscriber connects outside");
    CHECK_OK (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "weather", 7),
              "subscribe to weather");

    publisher_t publisher = {ctx, inside_ep, side_ep};
    pthread_t ubt = tu_thread_start (publisher_main, &publisher);

    char buf[64];
    tu_recv_expect (sub, "weather probe", "probe crosses the forwarder");
    tu_send_str (side, "GOT PROBE", 0, "report the probe");
    int next = 0;
    while (1) {
        tu_recv_str (sub, buf, sizeof buf, "receive through the forwarder");
        CHECK (strncmp (buf, "weather ", 8) == 0, "only weather arrives");
        if (strcmp (buf, "weather END") == 0)
            break;
        if (next == 0 && strcmp (buf, "weather probe") == 0)
            continue;
        int n = -1;
        CHECK (sscanf (buf, "weather %d", &n) == 1, "numbered update");
        CHECK (n == next, "the run arrives complete and in order");
        next++;
    }
    CHECK (next == RUN, "whole run received");
    tu_send_str (side, "DONE", 0, "report done");
    tu_thread_join (ubt);

    ps_close (sub);
    ps_close (side);
    /* The proxy's sockets are still open: terminating the context must
     * make zmq_proxy return -1/ETERM, after which its thread closes them. */
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    tu_thread_join (pt);
    CHECK (proxy.rc == -1, "zmq_proxy returns -1 on context termination");
    CHECK (proxy.err == ETERM, "zmq_proxy fails with ETERM");
    tu_cleanup_endpoint (inside_ep);
    tu_cleanup_endpoint (outside_ep);
    printf ("forwarder %s -> %s: %d updates OK\n", inside, outside, RUN);
    return 0;
}
