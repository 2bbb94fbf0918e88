/*
 * XSUB/XPUB proxy with two publishers and two subscribers.
 *
 * Publishers P0 and P1 connect to the proxy's XSUB and publish on topics
 * alpha, beta, gamma and delta. Subscriber S0 wants alpha; S1 wants beta
 * and gamma; nobody wants delta. Each subscriber must receive exactly its
 * topics, from both publishers, each (publisher, topic) stream complete and
 * in order, ending with an END marker.
 *
 * Join: until told to go, each publisher repeats a probe on every topic.
 * A subscriber is ready once it has seen a probe from both publishers on
 * each of its topics, which proves its subscriptions crossed the proxy to
 * both of them. The main thread says go when both subscribers are ready.
 *
 * Usage: xproxy <proxy-transport> (tcp|ipc|inproc) [messages-per-stream]
 */
#include "ps_util.h"

#define PUBS 2
#define SUBS 2
#define TOPICS 4

static const char *topic_names[TOPICS] = {"alpha", "beta", "gamma", "delta"};
/* wants[s][t]: does subscriber s subscribe to topic t */
static const int wants[SUBS][TOPICS] = {{1, 0, 0, 0}, {0, 1, 1, 0}};

static int per_stream = 2000;
static int subs_ready = 0;
static int go = 0;
static int subs_done = 0;

typedef struct
{
    void *ctx;
    int id;
    const char *ep;
} peer_t;

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

static void *publisher_main (void *arg)
{
    peer_t *p = arg;
    void *pub = tu_socket (p->ctx, ZMQ_PUB);
    tu_set_int (pub, ZMQ_SNDHWM, 0, "publisher SNDHWM 0");
    CHECK_OK (zmq_connect (pub, p->ep), "publisher connects to XSUB");
    char buf[64];
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    while (!PS_LOAD (&go)) {
        CHECK (tu_now_ms () < deadline, "subscribers ready in time");
        for (int t = 0; t < TOPICS; t++) {
            snprintf (buf, sizeof buf, "%s probe %d", topic_names[t], p->id);
            tu_send_str (pub, buf, ZMQ_DONTWAIT, "publisher sends probe");
        }
        CHECK (zmq_poll (NULL, 0, 5) == 0, "pace the probes");
    }
    for (int i = 0; i < per_stream; i++)
        for (int t = 0; t < TOPICS; t++) {
            snprintf (buf, sizeof buf, "%s %d %d", topic_names[t], p->id, i);
            tu_send_str (pub, buf, 0, "publisher sends data");
        }
    for (int t = 0; t < TOPICS; t++) {
        snprintf (buf, sizeof buf, "%s END %d", topic_names[t], p->id);
        tu_send_str (pub, buf, 0, "publisher sends END");
    }
    /* LINGER is 0: stay connected until the subscribers have everything. */
    deadline = tu_now_ms () + 30000;
    while (PS_LOAD (&subs_done) < SUBS) {
        CHECK (tu_now_ms () < deadline, "subscribers finish in time");
        tu_sleep_ms (2);
    }
    ps_close (pub);
    return NULL;
}

static int topic_index (const char *msg)
{
    for (int t = 0; t < TOPICS; t++) {
        size_t l = strlen (topic_names[t]);
        if (strncmp (msg, topic_names[t], l) == 0 && msg[l] == ' ')
            return t;
    }
    return -1;
}

static void *subscriber_main (void *arg)
{
    peer_t *s = arg;
    void *sub = tu_socket (s->ctx, ZMQ_SUB);
    tu_set_int (sub, ZMQ_RCVHWM, 0, "subscriber RCVHWM 0");
    CHECK_OK (zmq_connect (sub, s->ep), "subscriber connects to XPUB");
    int streams = 0;
    for (int t = 0; t < TOPICS; t++)
        if (wants[s->id][t]) {
            CHECK_OK (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, topic_names[t],
                                      strlen (topic_names[t])),
                      "subscribe");
            streams += PUBS;
        }

    int probed[PUBS][TOPICS] = {{0}};
    int next[PUBS][TOPICS] = {{0}};
    int ended[PUBS][TOPICS] = {{0}};
    int probes_needed = streams, ends = 0, ready = 0;
    char buf[64];
    while (ends < streams) {
        tu_recv_str (sub, buf, sizeof buf, "subscriber receives");
        int t = topic_index (buf);
        if (t < 0 || !wants[s->id][t])
            fprintf (stderr, "subscriber %d got \"%s\"\n", s->id, buf);
        CHECK (t >= 0 && wants[s->id][t], "only subscribed topics arrive");
        const char *rest = buf + strlen (topic_names[t]) + 1;
        int p = -1, n = -1;
        if (sscanf (rest, "probe %d", &p) == 1) {
            CHECK (p >= 0 && p < PUBS, "probe from a known publisher");
            CHECK (next[p][t] == 0 && !ended[p][t],
                   "probes come before the data");
            if (!probed[p][t]++ && --probes_needed == 0) {
                ready = 1;
                PS_INC (&subs_ready);
            }
        } else if (sscanf (rest, "END %d", &p) == 1) {
            CHECK (p >= 0 && p < PUBS && !ended[p][t], "one END per stream");
            CHECK (next[p][t] == per_stream, "stream complete at END");
            ended[p][t] = 1;
            ends++;
        } else {
            CHECK (sscanf (rest, "%d %d", &p, &n) == 2 && p >= 0 && p < PUBS,
                   "data format");
            CHECK (ready, "data only after the join");
            if (n != next[p][t])
                fprintf (stderr, "subscriber %d: %s expected %d\n", s->id,
                         buf, next[p][t]);
            CHECK (n == next[p][t], "stream complete and in order");
            next[p][t]++;
        }
    }
    PS_INC (&subs_done);
    ps_close (sub);
    return NULL;
}

int main (int argc, char **argv)
{
    tu_init (50);
    const char *transport = argc > 1 ? argv[1] : "tcp";
    if (argc > 2)
        per_stream = atoi (argv[2]);

    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");
    proxy_t proxy = {tu_socket (ctx, ZMQ_XSUB), tu_socket (ctx, ZMQ_XPUB), 0,
                     0};
    tu_set_int (proxy.xsub, ZMQ_RCVHWM, 0, "xsub RCVHWM 0");
    tu_set_int (proxy.xpub, ZMQ_SNDHWM, 0, "xpub SNDHWM 0");
    char xsub_ep[256], xpub_ep[256];
    tu_bind_ephemeral (proxy.xsub, transport, xsub_ep, sizeof xsub_ep);
    tu_bind_ephemeral (proxy.xpub, transport, xpub_ep, sizeof xpub_ep);
    pthread_t pt = tu_thread_start (proxy_main, &proxy);

    peer_t subs[SUBS], pubs[PUBS];
    pthread_t st[SUBS], ut[PUBS];
    for (int i = 0; i < SUBS; i++) {
        subs[i] = (peer_t){ctx, i, xpub_ep};
        st[i] = tu_thread_start (subscriber_main, &subs[i]);
    }
    for (int i = 0; i < PUBS; i++) {
        pubs[i] = (peer_t){ctx, i, xsub_ep};
        ut[i] = tu_thread_start (publisher_main, &pubs[i]);
    }

    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    while (PS_LOAD (&subs_ready) < SUBS) {
        CHECK (tu_now_ms () < deadline, "subscribers join in time");
        tu_sleep_ms (2);
    }
    PS_STORE (&go, 1);

    for (int i = 0; i < SUBS; i++)
        tu_thread_join (st[i]);
    for (int i = 0; i < PUBS; i++)
        tu_thread_join (ut[i]);

    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    tu_thread_join (pt);
    CHECK (proxy.rc == -1 && proxy.err == ETERM,
           "zmq_proxy ends with ETERM");
    tu_cleanup_endpoint (xsub_ep);
    tu_cleanup_endpoint (xpub_ep);
    printf ("xproxy (%s): 2 publishers x 2 subscribers, %d per stream OK\n",
            transport, per_stream);
    return 0;
}
