/*
 * Node coordination: the publisher only starts a run once every subscriber
 * is known to be connected and subscribed, then sends M numbered messages
 * and an END marker. With SNDHWM/RCVHWM 0 (no limit) not a single message
 * may be lost, duplicated or reordered.
 *
 * Subscribers connect, subscribe, and signal readiness through REQ/REP. To
 * close the slow-joiner gap without sleeping, each subscriber first waits
 * for a HELLO that the publisher repeats while it waits for the REQs: a
 * received HELLO proves the subscription has reached the publisher.
 *
 * Usage: syncpubsub [subscribers] [messages]
 */
#include "ps_util.h"

#define MAX_SUBS 8

static int messages = 100000;

typedef struct
{
    void *ctx;
    int id;
    const char *pub_ep;
    const char *sync_ep;
    long received;
    int got_end;
} sub_t;

static void *subscriber_main (void *arg)
{
    sub_t *s = arg;
    void *sub = tu_socket (s->ctx, ZMQ_SUB);
    tu_set_int (sub, ZMQ_RCVHWM, 0, "subscriber RCVHWM 0");
    CHECK_OK (zmq_connect (sub, s->pub_ep), "subscriber connects");
    CHECK_OK (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "", 0),
              "subscriber subscribes to everything");

    char buf[64];
    tu_recv_expect (sub, "HELLO", "subscriber hears the publisher");

    void *req = tu_socket (s->ctx, ZMQ_REQ);
    CHECK_OK (zmq_connect (req, s->sync_ep), "subscriber connects sync");
    snprintf (buf, sizeof buf, "READY %d", s->id);
    tu_send_str (req, buf, 0, "subscriber signals READY");
    tu_recv_expect (req, "GO", "publisher acknowledges");
    ps_close (req);

    /* HELLOs sent before the run may still be queued; the run follows. */
    long expected = 0;
    while (1) {
        tu_recv_str (sub, buf, sizeof buf, "subscriber receives");
        if (strcmp (buf, "END") == 0)
            break;
        if (expected == 0 && strcmp (buf, "HELLO") == 0)
            continue;
        char *end = NULL;
        long n = strtol (buf, &end, 10);
        CHECK (end && *end == '\0', "message is a number");
        if (n != expected)
            fprintf (stderr, "subscriber %d: got %ld, expected %ld\n", s->id,
                     n, expected);
        CHECK (n == expected, "no message lost, duplicated or reordered");
        expected++;
    }
    s->received = expected;
    s->got_end = 1;
    ps_close (sub);
    return NULL;
}

int main (int argc, char **argv)
{
    tu_init (55);
    int nsubs = argc > 1 ? atoi (argv[1]) : 3;
    if (argc > 2)
        messages = atoi (argv[2]);
    CHECK (nsubs >= 1 && nsubs <= MAX_SUBS, "subscriber count");
    CHECK (messages >= 0, "message count");

    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");

    void *pub = tu_socket (ctx, ZMQ_PUB);
    tu_set_int (pub, ZMQ_SNDHWM, 0, "publisher SNDHWM 0");
    char tcp_ep[256], ipc_ep[256], sync_ep[256];
    tu_bind_ephemeral (pub, "tcp", tcp_ep, sizeof tcp_ep);
    tu_bind_ephemeral (pub, "ipc", ipc_ep, sizeof ipc_ep);
    void *rep = tu_socket (ctx, ZMQ_REP);
    tu_bind_ephemeral (rep, "tcp", sync_ep, sizeof sync_ep);

    sub_t subs[MAX_SUBS];
    pthread_t threads[MAX_SUBS];
    for (int i = 0; i < nsubs; i++) {
        subs[i] = (sub_t){ctx, i, (i % 2) ? ipc_ep : tcp_ep, sync_ep, 0, 0};
        threads[i] = tu_thread_start (subscriber_main, &subs[i]);
    }

    /* Wait for every subscriber, repeating HELLO meanwhile. */
    int ready = 0;
    int seen[MAX_SUBS] = {0};
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    while (ready < nsubs) {
        CHECK (tu_now_ms () < deadline, "all subscribers ready in time");
        tu_send_str (pub, "HELLO", ZMQ_DONTWAIT, "publisher sends HELLO");
        if (ps_wait_in (rep, 10)) {
            char buf[64];
            int id = -1;
            tu_recv_str (rep, buf, sizeof buf, "publisher receives READY");
            CHECK (sscanf (buf, "READY %d", &id) == 1 && id >= 0
                     && id < nsubs && !seen[id],
                   "READY from a new subscriber");
            seen[id] = 1;
            tu_send_str (rep, "GO", 0, "publisher replies GO");
            ready++;
        }
    }

    int64_t t0 = tu_now_ms ();
    for (int i = 0; i < messages; i++) {
        char buf[32];
        snprintf (buf, sizeof buf, "%d", i);
        tu_send_str (pub, buf, 0, "publisher sends a message");
    }
    tu_send_str (pub, "END", 0, "publisher sends END");

    for (int i = 0; i < nsubs; i++) {
        tu_thread_join (threads[i]);
        CHECK (subs[i].got_end, "subscriber saw END");
        CHECK (subs[i].received == messages,
               "subscriber received every message");
    }
    printf ("%d subscribers received %d messages each in %lld ms\n", nsubs,
            messages, (long long) (tu_now_ms () - t0));

    ps_close (pub);
    ps_close (rep);
    tu_cleanup_endpoint (ipc_ep);
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    printf ("syncpubsub: OK\n");
    return 0;
}
