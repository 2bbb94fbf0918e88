/*
 * Pub-sub message envelopes: the publisher sends two-part messages
 * [key][body] with keys "A", "B" and "C"; the subscriber subscribes to "B"
 * only. Filtering applies to the key frame, and the body must always travel
 * with its key: every message received is exactly [B][body of a B message],
 * in order.
 *
 * Usage: envelope tcp|ipc|inproc [messages]
 */
#include "ps_util.h"

static int wanted = 200;
static int done = 0;

static void *publisher_main (void *arg)
{
    void *pub = arg;
    static const char *keys[] = {"A", "B", "C"};
    unsigned seq[3] = {0, 0, 0};
    int64_t deadline = tu_now_ms () + 30000;
    while (!PS_LOAD (&done)) {
        CHECK (tu_now_ms () < deadline, "subscriber finishes in time");
        for (int k = 0; k < 3; k++) {
            char body[64];
            snprintf (body, sizeof body, "body of %s #%u", keys[k],
                      seq[k]++);
            tu_send_str (pub, keys[k], ZMQ_SNDMORE, "publisher sends key");
            tu_send_str (pub, body, 0, "publisher sends body");
        }
        /* Do not flood: the subscriber only needs a few hundred. */
        if (seq[0] % 64 == 0)
            tu_sleep_ms (1);
    }
    return NULL;
}

int main (int argc, char **argv)
{
    tu_init (50);
    const char *transport = argc > 1 ? argv[1] : "tcp";
    if (argc > 2)
        wanted = atoi (argv[2]);

    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");
    void *pub = tu_socket (ctx, ZMQ_PUB);
    char ep[256];
    tu_bind_ephemeral (pub, transport, ep, sizeof ep);

    void *sub = tu_socket (ctx, ZMQ_SUB);
    CHECK_OK (zmq_connect (sub, ep), "subscriber connects");
    CHECK_OK (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, "B", 1),
              "subscribe to key B");

    pthread_t t = tu_thread_start (publisher_main, pub);

    long last = -1;
    for (int i = 0; i < wanted; i++) {
        char key[64], body[64];
        int more = 0;
        ps_recv_part (sub, key, sizeof key, &more, "receive key frame");
        CHECK (strcmp (key, "B") == 0, "only key B arrives");
        CHECK (more == 1, "key frame is followed by a body");
        ps_recv_part (sub, body, sizeof body, &more, "receive body frame");
        CHECK (more == 0, "envelope has exactly two frames");
        unsigned n;
        CHECK (sscanf (body, "body of B #%u", &n) == 1,
               "body belongs to a B message");
        CHECK ((long) n > last, "B messages arrive in order");
        last = n;
    }
    PS_STORE (&done, 1);
    tu_thread_join (t);

    ps_close (sub);
    ps_close (pub);
    tu_cleanup_endpoint (ep);
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    printf ("envelope (%s): %d B envelopes OK\n", transport, wanted);
    return 0;
}
