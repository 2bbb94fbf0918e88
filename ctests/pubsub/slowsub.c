/*
 * A slow subscriber never blocks the publisher.
 *
 * PUB (SNDHWM 10) and SUB (RCVHWM 10) are joined (the subscriber has
 * provably received a probe), then the subscriber stops reading while the
 * publisher sends 300,000 messages of 1 KiB with ZMQ_DONTWAIT. PUB drops at
 * the high-water mark instead of blocking, so every send must succeed at
 * once (never EAGAIN), the whole burst must finish quickly, and memory must
 * stay bounded: 300 MiB went out, resident memory may grow by less than
 * 150 MiB (it grows by a few MiB at most when messages are dropped).
 *
 * Afterwards the subscriber reads again: it must still be connected, get
 * only a small, ordered subset of the burst, then fresh messages.
 *
 * Usage: slowsub tcp|ipc|inproc [messages]
 */
#include "ps_util.h"

#define MSG_SIZE 1024

int main (int argc, char **argv)
{
    tu_init (55);
    const char *transport = argc > 1 ? argv[1] : "tcp";
    long nmsg = argc > 2 ? atol (argv[2]) : 300000;
    CHECK (nmsg > 0, "message count");

    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");
    void *pub = tu_socket (ctx, ZMQ_PUB);
    tu_set_int (pub, ZMQ_SNDHWM, 10, "PUB SNDHWM 10");
    char ep[256];
    tu_bind_ephemeral (pub, transport, ep, sizeof ep);
    void *sub = tu_socket (ctx, ZMQ_SUB);
    tu_set_int (sub, ZMQ_RCVHWM, 10, "SUB RCVHWM 10");
    CHECK_OK (zmq_connect (sub, ep), "subscriber connects");
    CHECK_OK (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "", 0), "subscribe all");
    ps_join (pub, sub, "probe", "fence");

    long rss_before = ps_rss_kb ();
    char *payload = calloc (MSG_SIZE, 1);
    CHECK (payload != NULL, "calloc");
    memset (payload, 'x', MSG_SIZE);
    int64_t t0 = tu_now_ms ();
    for (long i = 0; i < nmsg; i++) {
        snprintf (payload, 32, "D%ld", i);
        int rc = zmq_send (pub, payload, MSG_SIZE, ZMQ_DONTWAIT);
        if (rc != MSG_SIZE)
            fprintf (stderr, "send %ld returned %d\n", i, rc);
        CHECK (rc == MSG_SIZE, "PUB send never blocks nor fails (no EAGAIN)");
    }
    int64_t elapsed = tu_now_ms () - t0;
    long rss_after = ps_rss_kb ();
    long growth_mb = (rss_after - rss_before) / 1024;
    printf ("%s: sent %ld x %d bytes in %lld ms, RSS %ld -> %ld KiB "
            "(+%ld MiB)\n",
            transport, nmsg, MSG_SIZE, (long long) elapsed, rss_before,
            rss_after, growth_mb);
    CHECK (elapsed < 20000, "the burst does not wait for the subscriber");
    CHECK ((rss_after - rss_before) < (long) nmsg * MSG_SIZE / 1024 / 2,
           "memory stays bounded: messages are dropped, not queued");

    /* The subscriber wakes up: it drains a few old messages (in order),
     * then must see fresh ones. */
    long received = 0, last = -1;
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    int fresh = 0;
    while (!fresh) {
        CHECK (tu_now_ms () < deadline, "subscriber gets fresh messages");
        tu_send_str (pub, "fresh", ZMQ_DONTWAIT, "publish fresh");
        if (!ps_wait_in (sub, 10))
            continue;
        while (!fresh) {
            char buf[MSG_SIZE + 1];
            int n = zmq_recv (sub, buf, MSG_SIZE, ZMQ_DONTWAIT);
            if (n == -1) {
                CHECK (errno == EAGAIN, "subscriber recv");
                break;
            }
            if (n == 5 && memcmp (buf, "fresh", 5) == 0) {
                fresh = 1;
                break;
            }
            CHECK (n == MSG_SIZE && buf[0] == 'D', "a burst message");
            buf[31] = '\0';
            long seq = atol (buf + 1);
            CHECK (seq > last && seq < nmsg, "burst messages in order");
            last = seq;
            received++;
        }
    }
    printf ("%s: the slow subscriber kept %ld of %ld burst messages\n",
            transport, received, nmsg);
    CHECK (received < nmsg / 2, "most of the burst was dropped");

    free (payload);
    ps_close (sub);
    ps_close (pub);
    tu_cleanup_endpoint (ep);
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    printf ("slowsub (%s): OK\n", transport);
    return 0;
}
