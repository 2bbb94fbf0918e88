/*
 * Publish-subscribe API and semantics, one check per invocation:
 *
 *   subscribe_count     SUBSCRIBE is counted per topic
 *   empty_subscription  "" matches every message, empty ones included
 *   unsubscribe         UNSUBSCRIBE stops a topic, re-SUBSCRIBE restarts it
 *   pub_filter          PUB filters on its side (seen through a raw XSUB),
 *                       on the first frame only
 *   xpub_notifications  XPUB reports \x01topic / \x00topic once per topic
 *   xpub_verbose        XPUB_VERBOSE passes duplicate subscriptions,
 *                       XPUB_VERBOSER duplicate unsubscriptions too
 *   xpub_manual         XPUB_MANUAL: the application decides the topics
 *   xpub_welcome        XPUB_WELCOME_MSG reaches each new subscriber
 *   xpub_nodrop         XPUB_NODROP: EAGAIN at the high-water mark, no loss
 *   invert_matching     INVERT_MATCHING on PUB and SUB
 *   join_order          subscribe before/after connect, bind after connect
 *   reconnect           subscriptions are replayed to a restarted publisher
 *   enotsup             PUB cannot receive, SUB cannot send
 *
 * Everything runs in one thread: a subscriber is known to be joined when a
 * probe published in a loop has reached it (see ps_join), and "a message
 * does not arrive" is checked by sending a marker after it and receiving
 * the marker first. A "barrier" subscribes to a fresh topic and joins on it:
 * since a subscriber's subscription changes travel in order, all earlier
 * changes have then reached the publisher too.
 *
 * Usage: api <check>
 */
#include "ps_util.h"

static void *ctx;

static void subscribe (void *s, const char *topic)
{
    CHECK_OK (zmq_setsockopt (s, ZMQ_SUBSCRIBE, topic, strlen (topic)),
              "ZMQ_SUBSCRIBE");
}

static void unsubscribe (void *s, const char *topic)
{
    CHECK_OK (zmq_setsockopt (s, ZMQ_UNSUBSCRIBE, topic, strlen (topic)),
              "ZMQ_UNSUBSCRIBE");
}

/* Subscribe sub to a new topic and join on it: afterwards every earlier
 * subscription change of sub is in effect at pub. */
static void barrier (void *pub, void *sub)
{
    static int n = 0;
    char topic[32], probe[48], fence[48];
    snprintf (topic, sizeof topic, "#barrier%d", n++);
    snprintf (probe, sizeof probe, "%s.probe", topic);
    snprintf (fence, sizeof fence, "%s.fence", topic);
    subscribe (sub, topic);
    ps_join (pub, sub, probe, fence);
}

/* A bound PUB-like socket and a connected SUB-like socket. */
static void make_pair (int pub_type, int sub_type, const char *transport,
                       void **pub, void **sub, char *ep, size_t eplen)
{
    *pub = tu_socket (ctx, pub_type);
    tu_bind_ephemeral (*pub, transport, ep, eplen);
    *sub = tu_socket (ctx, sub_type);
    CHECK_OK (zmq_connect (*sub, ep), "connect");
}

/* XPUB/XSUB subscription messages are binary: \x01topic or \x00topic. */
static void xsub_send_sub (void *xsub, int on, const char *topic)
{
    char buf[64];
    size_t l = strlen (topic);
    CHECK (l + 1 < sizeof buf, "topic size");
    buf[0] = on ? 1 : 0;
    memcpy (buf + 1, topic, l);
    CHECK (zmq_send (xsub, buf, l + 1, 0) == (int) (l + 1),
           "XSUB sends a subscription message");
}

static void expect_notification (void *xpub, int on, const char *topic,
                                 const char *name)
{
    char want[64];
    size_t l = strlen (topic);
    want[0] = on ? 1 : 0;
    memcpy (want + 1, topic, l);
    ps_recv_bytes (xpub, want, l + 1, name);
}

/* Join for a change that stops a topic at the publisher (there is no
 * local filter on XSUB to hide it): publish pairs [<gone>.k][<pass>.k]
 * until a <pass>.k arrives without its <gone>.k, which proves pub had
 * applied the change when it sent <gone>.k; then fence and drain. */
static void join_until_filtered (void *pub, void *xsub, const char *gone,
                                 const char *pass)
{
    char buf[64], g[32], p[32], fence[32];
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    int k = 0, last_gone = -1, joined = 0;
    size_t gl = strlen (gone), pl = strlen (pass);
    while (!joined) {
        CHECK (tu_now_ms () < deadline, "filter change takes effect");
        snprintf (g, sizeof g, "%s.%d", gone, k);
        snprintf (p, sizeof p, "%s.%d", pass, k);
        tu_send_str (pub, g, 0, "probe the filtered topic");
        tu_send_str (pub, p, 0, "probe the passing topic");
        k++;
        while (!joined && ps_wait_in (xsub, 10)) {
            tu_recv_str (xsub, buf, sizeof buf, "receive while joining");
            if (strncmp (buf, gone, gl) == 0 && buf[gl] == '.')
                last_gone = atoi (buf + gl + 1);
            else if (strncmp (buf, pass, pl) == 0 && buf[pl] == '.')
                joined = last_gone != atoi (buf + pl + 1);
            else
                CHECK (0, "only probes while joining");
        }
    }
    snprintf (fence, sizeof fence, "%s.fence", pass);
    tu_send_str (pub, fence, 0, "fence");
    while (1) {
        tu_recv_str (xsub, buf, sizeof buf, "drain to fence");
        if (strcmp (buf, fence) == 0)
            break;
        CHECK (strncmp (buf, pass, pl) == 0,
               "filtered topic stays away once the change is in effect");
    }
}

/* ------------------------------------------------------------------------ */

static void check_subscribe_count (void)
{
    void *pub, *sub;
    char ep[256];
    make_pair (ZMQ_PUB, ZMQ_SUB, "tcp", &pub, &sub, ep, sizeof ep);
    subscribe (sub, "A");
    subscribe (sub, "A");
    ps_join (pub, sub, "A.probe", "A.fence");

    unsubscribe (sub, "A");
    barrier (pub, sub);
    tu_send_str (pub, "A.data1", 0, "publish A");
    tu_send_str (pub, "#barrier0.end1", 0, "publish marker");
    tu_recv_expect (sub, "A.data1",
                    "subscribed twice, unsubscribed once: still receives");
    tu_recv_expect (sub, "#barrier0.end1", "marker");

    unsubscribe (sub, "A");
    barrier (pub, sub);
    tu_send_str (pub, "A.data2", 0, "publish A");
    tu_send_str (pub, "#barrier0.end2", 0, "publish marker");
    tu_recv_expect (sub, "#barrier0.end2",
                    "second unsubscribe stops the topic");
    ps_close (sub);
    ps_close (pub);
}

static void check_empty_subscription (void)
{
    void *pub, *sub;
    char ep[256];
    make_pair (ZMQ_PUB, ZMQ_SUB, "tcp", &pub, &sub, ep, sizeof ep);
    subscribe (sub, "");
    ps_join (pub, sub, "probe", "fence");

    static const char bin[] = {0, 1, 2, (char) 0xff};
    CHECK (zmq_send (pub, "", 0, 0) == 0, "publish empty message");
    tu_send_str (pub, "A", 0, "publish A");
    CHECK (zmq_send (pub, bin, sizeof bin, 0) == (int) sizeof bin,
           "publish binary");
    tu_send_str (pub, "zzz", ZMQ_SNDMORE, "publish multipart 1");
    tu_send_str (pub, "second", 0, "publish multipart 2");
    ps_recv_bytes (sub, "", 0, "empty message matches \"\"");
    tu_recv_expect (sub, "A", "A matches \"\"");
    ps_recv_bytes (sub, bin, sizeof bin, "binary matches \"\"");
    tu_recv_expect (sub, "zzz", "multipart matches \"\"");
    tu_recv_expect (sub, "second", "multipart second frame");

    /* "" together with "A": a message is delivered once, not per match. */
    subscribe (sub, "A");
    barrier (pub, sub);
    tu_send_str (pub, "A.once", 0, "publish A");
    tu_send_str (pub, "end", 0, "publish end");
    tu_recv_expect (sub, "A.once", "matching message");
    tu_recv_expect (sub, "end", "delivered once despite two matches");

    /* Dropping "" leaves "A" (and the barrier topics) in force. */
    unsubscribe (sub, "");
    barrier (pub, sub);
    tu_send_str (pub, "B.gone", 0, "publish B");
    tu_send_str (pub, "A.kept", 0, "publish A");
    tu_recv_expect (sub, "A.kept", "only A after unsubscribing \"\"");
    ps_close (sub);
    ps_close (pub);
}

static void check_unsubscribe (void)
{
    void *pub, *sub;
    char ep[256];
    make_pair (ZMQ_PUB, ZMQ_SUB, "tcp", &pub, &sub, ep, sizeof ep);
    subscribe (sub, "A");
    subscribe (sub, "B");
    ps_join (pub, sub, "A.probe", "A.fence");

    unsubscribe (sub, "A");
    /* Locally effective at once, before any barrier. */
    tu_send_str (pub, "A.1", 0, "publish A");
    tu_send_str (pub, "B.1", 0, "publish B");
    tu_recv_expect (sub, "B.1", "A is gone right after UNSUBSCRIBE");

    /* Unsubscribing something never subscribed is accepted and harmless. */
    unsubscribe (sub, "never");
    barrier (pub, sub);
    tu_send_str (pub, "A.2", 0, "publish A");
    tu_send_str (pub, "B.2", 0, "publish B");
    tu_recv_expect (sub, "B.2", "A stays gone, B stays");

    /* Subscribing again brings the topic back. */
    subscribe (sub, "A");
    ps_join (pub, sub, "A.probe2", "A.fence2");
    tu_send_str (pub, "A.3", 0, "publish A");
    tu_recv_expect (sub, "A.3", "A is back");
    ps_close (sub);
    ps_close (pub);
}

static void check_pub_filter (void)
{
    /* XSUB does no filtering of its own: what it gets is what PUB sent. */
    void *pub, *xsub;
    char ep[256];
    make_pair (ZMQ_PUB, ZMQ_XSUB, "tcp", &pub, &xsub, ep, sizeof ep);
    xsub_send_sub (xsub, 1, "A");
    ps_join (pub, xsub, "A.probe", "A.fence");

    tu_send_str (pub, "B.1", 0, "publish B");
    tu_send_str (pub, "C.1", 0, "publish C");
    tu_send_str (pub, "A.1", 0, "publish A");
    tu_recv_expect (xsub, "A.1", "PUB sends only subscribed topics");

    /* Only the first frame is matched; the rest travels with it. */
    tu_send_str (pub, "B.2", ZMQ_SNDMORE, "publish [B][A]");
    tu_send_str (pub, "A.2", 0, "publish [B][A]");
    tu_send_str (pub, "A.3", ZMQ_SNDMORE, "publish [A][B]");
    tu_send_str (pub, "B.3", 0, "publish [A][B]");
    int more = 0;
    char buf[64];
    ps_recv_part (xsub, buf, sizeof buf, &more, "multipart first frame");
    CHECK (strcmp (buf, "A.3") == 0 && more, "[A][B] arrives, [B][A] not");
    ps_recv_part (xsub, buf, sizeof buf, &more, "multipart second frame");
    CHECK (strcmp (buf, "B.3") == 0 && !more, "second frame follows");

    /* Subscribing to "" upstream opens everything. */
    xsub_send_sub (xsub, 1, "");
    ps_join (pub, xsub, "Z.probe", "Z.fence");
    tu_send_str (pub, "B.4", 0, "publish B");
    tu_recv_expect (xsub, "B.4", "B passes with \"\"");

    /* Cancel "": back to A only. */
    xsub_send_sub (xsub, 0, "");
    xsub_send_sub (xsub, 1, "M");
    join_until_filtered (pub, xsub, "B", "M");
    tu_send_str (pub, "B.5", 0, "publish B");
    tu_send_str (pub, "A.5", 0, "publish A");
    tu_recv_expect (xsub, "A.5", "B filtered again after cancelling \"\"");
    ps_close (xsub);
    ps_close (pub);
}

static void check_xpub_notifications (void)
{
    void *xpub = tu_socket (ctx, ZMQ_XPUB);
    char ep[256];
    tu_bind_ephemeral (xpub, "tcp", ep, sizeof ep);
    void *s1 = tu_socket (ctx, ZMQ_SUB);
    void *s2 = tu_socket (ctx, ZMQ_SUB);
    CHECK_OK (zmq_connect (s1, ep), "connect s1");
    CHECK_OK (zmq_connect (s2, ep), "connect s2");

    subscribe (s1, "A");
    expect_notification (xpub, 1, "A", "first subscriber to A reported");
    subscribe (s2, "A");
    subscribe (s2, "B");
    expect_notification (xpub, 1, "B",
                         "second subscription to A not reported");
    unsubscribe (s1, "A");
    subscribe (s1, "C");
    expect_notification (xpub, 1, "C",
                         "unsubscribe while another subscriber remains "
                         "is not reported");
    unsubscribe (s2, "A");
    expect_notification (xpub, 0, "A", "last unsubscribe from A reported");

    subscribe (s1, "");
    expect_notification (xpub, 1, "", "empty subscription is \\x01");

    /* Data reaches subscribers per topic. */
    tu_send_str (xpub, "B.data", 0, "XPUB publishes B");
    tu_recv_expect (s2, "B.data", "s2 gets B");
    tu_recv_expect (s1, "B.data", "s1 gets B through \"\"");

    /* A subscriber that goes away unsubscribes from what only it had. */
    ps_close (s2);
    expect_notification (xpub, 0, "B", "closing the only B subscriber");
    ps_close (s1);
    /* s1 had C and "": both are reported, in either order. */
    char a[8], b[8];
    int na = zmq_recv (xpub, a, sizeof a, 0);
    int nb = zmq_recv (xpub, b, sizeof b, 0);
    CHECK (na >= 1 && nb >= 1, "two unsubscriptions after closing s1");
    int saw_c = (na == 2 && a[0] == 0 && a[1] == 'C')
                || (nb == 2 && b[0] == 0 && b[1] == 'C');
    int saw_all = (na == 1 && a[0] == 0) || (nb == 1 && b[0] == 0);
    CHECK (saw_c && saw_all, "\\x00C and \\x00 reported");
    ps_close (xpub);
}

static void check_xpub_verbose (void)
{
    void *xpub = tu_socket (ctx, ZMQ_XPUB);
    tu_set_int (xpub, ZMQ_XPUB_VERBOSE, 1, "XPUB_VERBOSE");
    char ep[256];
    tu_bind_ephemeral (xpub, "tcp", ep, sizeof ep);
    void *s1 = tu_socket (ctx, ZMQ_SUB);
    void *s2 = tu_socket (ctx, ZMQ_SUB);
    CHECK_OK (zmq_connect (s1, ep), "connect s1");
    CHECK_OK (zmq_connect (s2, ep), "connect s2");

    subscribe (s1, "A");
    expect_notification (xpub, 1, "A", "verbose: first A");
    subscribe (s2, "A");
    expect_notification (xpub, 1, "A", "verbose: A from a second subscriber");
    subscribe (s1, "A");
    expect_notification (xpub, 1, "A", "verbose: A again from the same one");

    /* XPUB_VERBOSE is about subscriptions only. s1 holds A twice: the
     * first unsubscribe stays inside s1, the second reaches XPUB but s2
     * still holds A, so nothing is reported. */
    unsubscribe (s1, "A");
    unsubscribe (s1, "A");
    subscribe (s1, "Z");
    expect_notification (xpub, 1, "Z",
                         "verbose: non-last unsubscribe not reported");
    unsubscribe (s2, "A");
    expect_notification (xpub, 0, "A", "verbose: last unsubscribe reported");
    ps_close (s1);
    ps_close (s2);
    ps_close (xpub);

    /* XPUB_VERBOSER: unsubscriptions are passed on every time too. */
    xpub = tu_socket (ctx, ZMQ_XPUB);
    tu_set_int (xpub, ZMQ_XPUB_VERBOSER, 1, "XPUB_VERBOSER");
    tu_bind_ephemeral (xpub, "tcp", ep, sizeof ep);
    s1 = tu_socket (ctx, ZMQ_SUB);
    s2 = tu_socket (ctx, ZMQ_SUB);
    CHECK_OK (zmq_connect (s1, ep), "connect s1");
    CHECK_OK (zmq_connect (s2, ep), "connect s2");
    subscribe (s1, "A");
    expect_notification (xpub, 1, "A", "verboser: A from s1");
    subscribe (s2, "A");
    expect_notification (xpub, 1, "A", "verboser: A from s2");
    unsubscribe (s1, "A");
    expect_notification (xpub, 0, "A", "verboser: non-last unsubscribe");
    unsubscribe (s2, "A");
    expect_notification (xpub, 0, "A", "verboser: last unsubscribe");
    ps_close (s1);
    ps_close (s2);
    ps_close (xpub);
}

static void check_xpub_manual (void)
{
    void *xpub = tu_socket (ctx, ZMQ_XPUB);
    tu_set_int (xpub, ZMQ_XPUB_MANUAL, 1, "XPUB_MANUAL");
    char ep[256];
    tu_bind_ephemeral (xpub, "tcp", ep, sizeof ep);
    /* A raw XSUB, so that what arrives is exactly what XPUB sent. */
    void *xsub = tu_socket (ctx, ZMQ_XSUB);
    CHECK_OK (zmq_connect (xsub, ep), "connect xsub");

    xsub_send_sub (xsub, 1, "A");
    expect_notification (xpub, 1, "A", "manual: subscription delivered");
    /* The application maps the request for A to topic B instead. */
    CHECK_OK (zmq_setsockopt (xpub, ZMQ_SUBSCRIBE, "B", 1),
              "manual: XPUB subscribes the peer to B");
    tu_send_str (xpub, "A.1", 0, "publish A");
    tu_send_str (xpub, "B.1", 0, "publish B");
    tu_recv_expect (xsub, "B.1", "manual: only the topic the app chose");

    xsub_send_sub (xsub, 1, "C");
    expect_notification (xpub, 1, "C", "manual: second subscription");
    xsub_send_sub (xsub, 1, "C");
    expect_notification (xpub, 1, "C", "manual: duplicates delivered too");
    CHECK_OK (zmq_setsockopt (xpub, ZMQ_UNSUBSCRIBE, "B", 1),
              "manual: XPUB unsubscribes the peer from B");
    CHECK_OK (zmq_setsockopt (xpub, ZMQ_SUBSCRIBE, "C", 1),
              "manual: XPUB subscribes the peer to C");
    tu_send_str (xpub, "B.2", 0, "publish B");
    tu_send_str (xpub, "A.2", 0, "publish A");
    tu_send_str (xpub, "C.2", 0, "publish C");
    tu_recv_expect (xsub, "C.2", "manual: B removed, A never added");

    /* XSUB counts its subscriptions: C was requested twice, so only the
     * second cancel goes upstream. */
    xsub_send_sub (xsub, 0, "C");
    xsub_send_sub (xsub, 0, "C");
    expect_notification (xpub, 0, "C", "manual: unsubscription delivered");
    ps_close (xsub);
    ps_close (xpub);
}

static void check_xpub_welcome (void)
{
    void *xpub = tu_socket (ctx, ZMQ_XPUB);
    CHECK_OK (zmq_setsockopt (xpub, ZMQ_XPUB_WELCOME_MSG, "WELCOME", 7),
              "XPUB_WELCOME_MSG");
    char ep[256];
    tu_bind_ephemeral (xpub, "tcp", ep, sizeof ep);

    for (int i = 0; i < 2; i++) {
        void *sub = tu_socket (ctx, ZMQ_SUB);
        subscribe (sub, "WELCOME");
        CHECK_OK (zmq_connect (sub, ep), "connect");
        /* libzmq attaches a bound socket's new peers when that socket is
         * used, so receive on XPUB first. */
        expect_notification (xpub, 1, "WELCOME",
                             "XPUB sees the subscription");
        tu_recv_expect (sub, "WELCOME", "each new subscriber is welcomed");
        ps_close (sub);
        /* The subscription disappears with the subscriber. */
        expect_notification (xpub, 0, "WELCOME", "subscriber gone");
    }

    /* A subscriber not interested in the welcome topic filters it out:
     * only the probes may arrive while it joins. */
    void *sub = tu_socket (ctx, ZMQ_SUB);
    subscribe (sub, "X");
    CHECK_OK (zmq_connect (sub, ep), "connect");
    expect_notification (xpub, 1, "X", "XPUB sees X");
    tu_send_str (xpub, "X.1", 0, "publish X");
    tu_recv_expect (sub, "X.1", "welcome filtered by the subscription");
    ps_close (sub);
    ps_close (xpub);
}

static void nodrop_on (const char *transport)
{
    void *xpub = tu_socket (ctx, ZMQ_XPUB);
    tu_set_int (xpub, ZMQ_XPUB_NODROP, 1, "XPUB_NODROP");
    tu_set_int (xpub, ZMQ_SNDHWM, 10, "SNDHWM");
    char ep[256];
    tu_bind_ephemeral (xpub, transport, ep, sizeof ep);
    void *sub = tu_socket (ctx, ZMQ_SUB);
    tu_set_int (sub, ZMQ_RCVHWM, 10, "RCVHWM");
    CHECK_OK (zmq_connect (sub, ep), "connect");
    subscribe (sub, "");
    expect_notification (xpub, 1, "", "subscriber attached");

    /* Fill up until a send blocks. With tcp and ipc an I/O thread keeps
     * moving messages into kernel buffers, so EAGAIN from a non-blocking
     * send can be transient: the queue is full when a send has waited
     * SNDTIMEO without making progress. */
    char payload[1024];
    memset (payload, 'x', sizeof payload);
    tu_set_int (xpub, ZMQ_SNDTIMEO, 200, "SNDTIMEO 200");
    long sent = 0;
    const long limit = 200000;
    while (1) {
        snprintf (payload, 32, "%ld", sent);
        int64_t t0 = tu_now_ms ();
        int rc = zmq_send (xpub, payload, sizeof payload, 0);
        if (rc == -1) {
            CHECK (errno == EAGAIN, "NODROP: full queue gives EAGAIN");
            CHECK (tu_now_ms () - t0 >= 150, "NODROP: send waited SNDTIMEO");
            break;
        }
        CHECK (rc == (int) sizeof payload, "send");
        sent++;
        CHECK (sent < limit, "NODROP: the queue is bounded");
    }
    CHECK (sent >= 10, "NODROP: at least SNDHWM messages fit");
    /* Still full: a non-blocking send fails at once. */
    CHECK_ERR (zmq_send (xpub, payload, sizeof payload, ZMQ_DONTWAIT), EAGAIN,
               "NODROP: non-blocking send on a full queue");

    /* Nothing was dropped: all of them arrive, in order. */
    for (long i = 0; i < sent; i++) {
        char buf[sizeof payload];
        int n = zmq_recv (sub, buf, sizeof buf, 0);
        CHECK (n == (int) sizeof payload, "NODROP: receive");
        buf[31] = '\0';
        CHECK (atol (buf) == i, "NODROP: nothing lost, in order");
    }
    /* With the queue drained, sending works again. */
    tu_set_int (xpub, ZMQ_SNDTIMEO, TU_TIMEOUT_MS, "SNDTIMEO");
    snprintf (payload, 32, "%ld", sent);
    CHECK (zmq_send (xpub, payload, sizeof payload, 0) == (int) sizeof payload,
           "NODROP: send after draining");
    char buf[sizeof payload];
    CHECK (zmq_recv (sub, buf, sizeof buf, 0) == (int) sizeof payload,
           "NODROP: receive after draining");
    buf[31] = '\0';
    CHECK (atol (buf) == sent, "NODROP: the next one");
    printf ("xpub_nodrop (%s): EAGAIN after %ld messages\n", transport, sent);
    ps_close (sub);
    ps_close (xpub);
    tu_cleanup_endpoint (ep);
}

static void check_xpub_nodrop (void)
{
    nodrop_on ("inproc");
    nodrop_on ("ipc");
    nodrop_on ("tcp");
}

static void check_invert_matching (void)
{
    void *pub = tu_socket (ctx, ZMQ_PUB);
    tu_set_int (pub, ZMQ_INVERT_MATCHING, 1, "PUB INVERT_MATCHING");
    char ep[256];
    tu_bind_ephemeral (pub, "tcp", ep, sizeof ep);
    void *sub = tu_socket (ctx, ZMQ_SUB);
    tu_set_int (sub, ZMQ_INVERT_MATCHING, 1, "SUB INVERT_MATCHING");
    int v = 0;
    size_t vl = sizeof v;
    CHECK_OK (zmq_getsockopt (sub, ZMQ_INVERT_MATCHING, &v, &vl),
              "get INVERT_MATCHING");
    CHECK (v == 1, "INVERT_MATCHING reads back");
    CHECK_OK (zmq_connect (sub, ep), "connect");
    subscribe (sub, "A");
    /* Probes do not start with A, so they match the inverted filter. */
    ps_join (pub, sub, "P.probe", "P.fence");

    tu_send_str (pub, "A1", 0, "publish A1");
    tu_send_str (pub, "B1", 0, "publish B1");
    tu_send_str (pub, "AB", 0, "publish AB");
    tu_send_str (pub, "C1", 0, "publish C1");
    CHECK (zmq_send (pub, "", 0, 0) == 0, "publish empty");
    tu_send_str (pub, "END", 0, "publish END");
    tu_recv_expect (sub, "B1", "inverted: B1 passes");
    tu_recv_expect (sub, "C1", "inverted: A-prefixed messages excluded");
    ps_recv_bytes (sub, "", 0, "inverted: empty message passes");
    tu_recv_expect (sub, "END", "inverted: END");

    /* A second excluded prefix (the SUB applies it at once). */
    subscribe (sub, "B");
    tu_send_str (pub, "B2", 0, "publish B2");
    tu_send_str (pub, "A2", 0, "publish A2");
    tu_send_str (pub, "C2", 0, "publish C2");
    tu_recv_expect (sub, "C2", "inverted: A and B excluded");
    ps_close (sub);

    /* The inverting PUB itself leaves out what a peer subscribed to (seen
     * through an XSUB, which does not filter). */
    void *xsub = tu_socket (ctx, ZMQ_XSUB);
    CHECK_OK (zmq_connect (xsub, ep), "connect xsub");
    xsub_send_sub (xsub, 1, "A");
    join_until_filtered (pub, xsub, "A", "P");
    tu_send_str (pub, "A3", 0, "publish A3");
    tu_send_str (pub, "B3", 0, "publish B3");
    tu_recv_expect (xsub, "B3", "inverting PUB does not send A");
    ps_close (xsub);
    ps_close (pub);
}

/* Subscribe before connecting, and bind after connecting. */
static void join_on (const char *transport, int bind_after_connect)
{
    char ep[256];
    void *pub = tu_socket (ctx, ZMQ_PUB);
    void *sub = tu_socket (ctx, ZMQ_SUB);
    subscribe (sub, "A"); /* before connect */
    if (bind_after_connect) {
        tu_make_endpoint (transport, ep, sizeof ep);
        CHECK_OK (zmq_connect (sub, ep), "connect before bind");
        CHECK_OK (zmq_bind (pub, ep), "bind after connect");
    } else {
        tu_bind_ephemeral (pub, transport, ep, sizeof ep);
        CHECK_OK (zmq_connect (sub, ep), "connect");
    }
    ps_join (pub, sub, "A.probe", "A.fence");
    subscribe (sub, "B"); /* after connect */
    ps_join (pub, sub, "B.probe", "B.fence");
    tu_send_str (pub, "C.1", 0, "publish C");
    tu_send_str (pub, "A.1", 0, "publish A");
    tu_send_str (pub, "B.1", 0, "publish B");
    tu_recv_expect (sub, "A.1", "subscription made before connecting");
    tu_recv_expect (sub, "B.1", "subscription made after connecting");
    printf ("join_order (%s%s): OK\n", transport,
            bind_after_connect ? ", bind after connect" : "");
    ps_close (sub);
    ps_close (pub);
    tu_cleanup_endpoint (ep);
}

static void check_join_order (void)
{
    join_on ("tcp", 0);
    join_on ("ipc", 0);
    join_on ("inproc", 0);
    join_on ("ipc", 1);
    join_on ("inproc", 1);
}

static void reconnect_on (const char *transport)
{
    char ep[256];
    void *pub = tu_socket (ctx, ZMQ_PUB);
    tu_bind_ephemeral (pub, transport, ep, sizeof ep);
    void *sub = tu_socket (ctx, ZMQ_SUB);
    tu_set_int (sub, ZMQ_RECONNECT_IVL, 20, "RECONNECT_IVL");
    CHECK_OK (zmq_connect (sub, ep), "connect");
    subscribe (sub, "A");
    ps_join (pub, sub, "A.probe", "A.fence");

    /* Restart the publisher on the same endpoint. The old listener is
     * closed asynchronously, so the new bind may need a few tries. */
    ps_close (pub);
    pub = tu_socket (ctx, ZMQ_PUB);
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    while (zmq_bind (pub, ep) != 0) {
        CHECK (errno == EADDRINUSE, "rebind");
        CHECK (tu_now_ms () < deadline, "rebind in time");
        tu_sleep_ms (10);
    }
    /* The subscriber reconnects and replays its subscriptions. */
    ps_join (pub, sub, "A.probe", "A.fence");
    tu_send_str (pub, "B.1", 0, "publish B");
    tu_send_str (pub, "A.1", 0, "publish A");
    tu_recv_expect (sub, "A.1", "subscription survives the restart");
    printf ("reconnect (%s): OK\n", transport);
    ps_close (sub);
    ps_close (pub);
    tu_cleanup_endpoint (ep);
}

static void check_reconnect (void)
{
    reconnect_on ("tcp");
    reconnect_on ("ipc");
}

static void check_enotsup (void)
{
    void *pub = tu_socket (ctx, ZMQ_PUB);
    void *sub = tu_socket (ctx, ZMQ_SUB);
    char buf[16];
    CHECK_ERR (zmq_recv (pub, buf, sizeof buf, ZMQ_DONTWAIT), ENOTSUP,
               "PUB recv is not supported");
    CHECK_ERR (zmq_recv (pub, buf, sizeof buf, 0), ENOTSUP,
               "PUB blocking recv is not supported");
    zmq_msg_t msg;
    CHECK_OK (zmq_msg_init (&msg), "msg init");
    CHECK_ERR (zmq_msg_recv (&msg, pub, 0), ENOTSUP,
               "PUB zmq_msg_recv is not supported");
    CHECK_ERR (zmq_send (sub, "x", 1, 0), ENOTSUP,
               "SUB send is not supported");
    CHECK_ERR (zmq_send (sub, "x", 1, ZMQ_DONTWAIT), ENOTSUP,
               "SUB non-blocking send is not supported");
    CHECK_OK (zmq_msg_init_size (&msg, 1), "msg init");
    CHECK_ERR (zmq_msg_send (&msg, sub, 0), ENOTSUP,
               "SUB zmq_msg_send is not supported");
    CHECK_OK (zmq_msg_close (&msg), "msg close");

    /* Subscriptions belong to SUB (and manual XPUB) only. */
    CHECK_ERR (zmq_setsockopt (pub, ZMQ_SUBSCRIBE, "A", 1), EINVAL,
               "PUB has no ZMQ_SUBSCRIBE");
    void *push = tu_socket (ctx, ZMQ_PUSH);
    CHECK_ERR (zmq_setsockopt (push, ZMQ_SUBSCRIBE, "A", 1), EINVAL,
               "PUSH has no ZMQ_SUBSCRIBE");
    ps_close (push);

    /* ZMQ_EVENTS: PUB is never readable, SUB never writable. */
    int ev = 0;
    size_t el = sizeof ev;
    CHECK_OK (zmq_getsockopt (pub, ZMQ_EVENTS, &ev, &el), "PUB EVENTS");
    CHECK (!(ev & ZMQ_POLLIN), "PUB is never readable");
    CHECK (ev & ZMQ_POLLOUT, "PUB is always writable");
    el = sizeof ev;
    CHECK_OK (zmq_getsockopt (sub, ZMQ_EVENTS, &ev, &el), "SUB EVENTS");
    CHECK (!(ev & ZMQ_POLLOUT), "SUB is never writable");
    ps_close (pub);
    ps_close (sub);
}

/* CONFLATE on a SUB: of everything queued, only the newest message is
 * delivered. Over inproc a send completes into the receiver's pipe, so all ten
 * messages are queued before the first receive. One subscription only: libzmq
 * conflates the subscriptions going upstream too, keeping just the last. */
static void check_conflate (void)
{
    void *pub = tu_socket (ctx, ZMQ_PUB);
    void *sub = tu_socket (ctx, ZMQ_SUB);
    int one = 1;
    CHECK_OK (zmq_setsockopt (sub, ZMQ_CONFLATE, &one, sizeof one),
              "ZMQ_CONFLATE on SUB");
    char ep[256];
    tu_bind_ephemeral (pub, "inproc", ep, sizeof ep);
    CHECK_OK (zmq_connect (sub, ep), "connect");
    subscribe (sub, "");
    ps_join (pub, sub, "probe", "fence");
    char buf[32];
    for (int i = 0; i < 10; i++) {
        snprintf (buf, sizeof buf, "m%d", i);
        tu_send_str (pub, buf, 0, "publish");
    }
    tu_recv_expect (sub, "m9", "conflated SUB gets only the newest message");
    CHECK_ERR (zmq_recv (sub, buf, sizeof buf, ZMQ_DONTWAIT), EAGAIN,
               "nothing older is left behind");
    CHECK_OK (zmq_close (sub), "close sub");
    CHECK_OK (zmq_close (pub), "close pub");
}

/* ------------------------------------------------------------------------ */

static const struct
{
    const char *name;
    void (*fn) (void);
} checks[] = {
  {"subscribe_count", check_subscribe_count},
  {"empty_subscription", check_empty_subscription},
  {"unsubscribe", check_unsubscribe},
  {"pub_filter", check_pub_filter},
  {"xpub_notifications", check_xpub_notifications},
  {"xpub_verbose", check_xpub_verbose},
  {"xpub_manual", check_xpub_manual},
  {"xpub_welcome", check_xpub_welcome},
  {"xpub_nodrop", check_xpub_nodrop},
  {"invert_matching", check_invert_matching},
  {"join_order", check_join_order},
  {"reconnect", check_reconnect},
  {"enotsup", check_enotsup},
  {"conflate", check_conflate},
};

int main (int argc, char **argv)
{
    tu_init (50);
    const int n = (int) (sizeof checks / sizeof checks[0]);
    ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");
    int ran = 0;
    for (int i = 0; i < n; i++) {
        if (argc > 1 && strcmp (argv[1], checks[i].name) != 0)
            continue;
        checks[i].fn ();
        printf ("api %s: OK\n", checks[i].name);
        ran++;
    }
    if (!ran) {
        fprintf (stderr, "unknown check %s\n", argv[1]);
        return 2;
    }
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    return 0;
}
