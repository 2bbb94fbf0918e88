/*
 * API conformance: socket options, polling and context options.
 *  - getsockopt ZMQ_TYPE / ZMQ_RCVMORE / ZMQ_LAST_ENDPOINT / ZMQ_EVENTS /
 *    ZMQ_FD, set/get round trips
 *  - zmq_poll on a plain file descriptor (a pipe), timeout 0 / N / -1
 *  - zmq_ctx_set / zmq_ctx_get: IO_THREADS, MAX_SOCKETS, SOCKET_LIMIT,
 *    MSG_T_SIZE
 */
#include "testutil.h"

#include <fcntl.h>
#include <poll.h>

static int get_int (void *s, int opt, const char *name)
{
    int v = -12345;
    size_t sz = sizeof v;
    CHECK_OK (zmq_getsockopt (s, opt, &v, &sz), name);
    CHECK (sz == sizeof v, name);
    return v;
}

static void test_getsockopt (void *ctx)
{
    static const int types[] = {ZMQ_PAIR, ZMQ_PUB,    ZMQ_SUB,  ZMQ_REQ,
                                ZMQ_REP,  ZMQ_DEALER, ZMQ_ROUTER, ZMQ_PULL,
                                ZMQ_PUSH, ZMQ_XPUB,   ZMQ_XSUB, ZMQ_STREAM};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        void *s = zmq_socket (ctx, types[i]);
        CHECK (s != NULL, "create every socket type");
        CHECK (get_int (s, ZMQ_TYPE, "getsockopt ZMQ_TYPE") == types[i],
               "ZMQ_TYPE matches the created type");
        CHECK_OK (zmq_close (s), "close");
    }

    void *a = tu_socket (ctx, ZMQ_PAIR);
    void *b = tu_socket (ctx, ZMQ_PAIR);

    /* LAST_ENDPOINT: empty before bind, actual endpoint after */
    char ep[256];
    size_t len = sizeof ep;
    CHECK_OK (zmq_getsockopt (a, ZMQ_LAST_ENDPOINT, ep, &len),
              "LAST_ENDPOINT before bind");
    CHECK (len == 1 && ep[0] == '\0', "LAST_ENDPOINT empty before bind");
    CHECK_OK (zmq_bind (a, "tcp://127.0.0.1:*"), "bind wildcard port");
    len = sizeof ep;
    CHECK_OK (zmq_getsockopt (a, ZMQ_LAST_ENDPOINT, ep, &len),
              "LAST_ENDPOINT after bind");
    CHECK (len == strlen (ep) + 1, "LAST_ENDPOINT length includes NUL");
    CHECK (strncmp (ep, "tcp://127.0.0.1:", 16) == 0,
           "LAST_ENDPOINT keeps the address");
    int port = atoi (ep + 16);
    CHECK (port > 0 && port < 65536, "LAST_ENDPOINT has a real port");
    CHECK (strchr (ep, '*') == NULL, "LAST_ENDPOINT resolves the wildcard");

    /* ipc LAST_ENDPOINT is the path given */
    void *c = tu_socket (ctx, ZMQ_PAIR);
    char ipc_ep[256], got[256];
    tu_make_endpoint ("ipc", ipc_ep, sizeof ipc_ep);
    CHECK_OK (zmq_bind (c, ipc_ep), "bind ipc");
    tu_last_endpoint (c, got, sizeof got);
    CHECK (strcmp (got, ipc_ep) == 0, "ipc LAST_ENDPOINT equals bound path");
    CHECK_OK (zmq_close (c), "close");
    tu_cleanup_endpoint (ipc_ep);

    CHECK_OK (zmq_connect (b, ep), "connect");

    /* EVENTS: a connected PAIR can send, has nothing to read */
    int ev = 0;
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    do {
        ev = get_int (b, ZMQ_EVENTS, "getsockopt ZMQ_EVENTS");
        if (ev & ZMQ_POLLOUT)
            break;
        tu_sleep_ms (5);
    } while (tu_now_ms () < deadline);
    CHECK (ev & ZMQ_POLLOUT, "EVENTS has POLLOUT on connected PAIR");
    CHECK (!(ev & ZMQ_POLLIN), "EVENTS has no POLLIN with nothing queued");

    /* FD: a real descriptor that signals when EVENTS should be re-checked */
    int fd = -1;
    size_t fdsz = sizeof fd;
    CHECK_OK (zmq_getsockopt (a, ZMQ_FD, &fd, &fdsz), "getsockopt ZMQ_FD");
    CHECK (fdsz == sizeof fd, "ZMQ_FD size");
    CHECK (fd >= 0, "ZMQ_FD is a descriptor");
    CHECK (fcntl (fd, F_GETFD) != -1, "ZMQ_FD is an open descriptor");

    CHECK (zmq_send (b, "ping", 4, 0) == 4, "send ping");
    /* Proper edge-triggered usage: check EVENTS, if not readable wait for
     * the fd, then check EVENTS again. */
    deadline = tu_now_ms () + TU_TIMEOUT_MS;
    while (1) {
        ev = get_int (a, ZMQ_EVENTS, "getsockopt ZMQ_EVENTS");
        if (ev & ZMQ_POLLIN)
            break;
        CHECK (tu_now_ms () < deadline, "ZMQ_FD/EVENTS report the message");
        struct pollfd pfd = {fd, POLLIN, 0};
        int rc = poll (&pfd, 1, 1000);
        CHECK (rc >= 0, "poll on ZMQ_FD");
    }
    CHECK (ev & ZMQ_POLLIN, "EVENTS has POLLIN after a message arrived");

    /* RCVMORE */
    CHECK (get_int (a, ZMQ_RCVMORE, "RCVMORE") == 0, "RCVMORE 0 initially");
    char buf[16];
    CHECK (zmq_recv (a, buf, sizeof buf, 0) == 4, "recv ping");
    CHECK (get_int (a, ZMQ_RCVMORE, "RCVMORE") == 0, "RCVMORE 0 single part");
    CHECK (zmq_send (b, "x", 1, ZMQ_SNDMORE) == 1, "send part 1");
    CHECK (zmq_send (b, "y", 1, 0) == 1, "send part 2");
    CHECK (zmq_recv (a, buf, sizeof buf, 0) == 1, "recv part 1");
    CHECK (get_int (a, ZMQ_RCVMORE, "RCVMORE") == 1, "RCVMORE 1 mid-message");
    CHECK (zmq_recv (a, buf, sizeof buf, 0) == 1, "recv part 2");
    CHECK (get_int (a, ZMQ_RCVMORE, "RCVMORE") == 0, "RCVMORE 0 at end");
    ev = get_int (a, ZMQ_EVENTS, "EVENTS");
    CHECK (!(ev & ZMQ_POLLIN), "EVENTS has no POLLIN after draining");

    /* set/get round trips and defaults */
    void *d = zmq_socket (ctx, ZMQ_DEALER);
    CHECK (get_int (d, ZMQ_SNDHWM, "SNDHWM") == 1000, "SNDHWM default 1000");
    CHECK (get_int (d, ZMQ_RCVHWM, "RCVHWM") == 1000, "RCVHWM default 1000");
    CHECK (get_int (d, ZMQ_LINGER, "LINGER") == -1, "LINGER default -1");
    CHECK (get_int (d, ZMQ_RCVTIMEO, "RCVTIMEO") == -1, "RCVTIMEO default -1");
    CHECK (get_int (d, ZMQ_SNDTIMEO, "SNDTIMEO") == -1, "SNDTIMEO default -1");
    tu_set_int (d, ZMQ_SNDHWM, 77, "set SNDHWM");
    CHECK (get_int (d, ZMQ_SNDHWM, "SNDHWM") == 77, "SNDHWM round trip");
    tu_set_int (d, ZMQ_RCVTIMEO, 1234, "set RCVTIMEO");
    CHECK (get_int (d, ZMQ_RCVTIMEO, "RCVTIMEO") == 1234, "RCVTIMEO round trip");
    CHECK_OK (zmq_setsockopt (d, ZMQ_ROUTING_ID, "abc", 3), "set ROUTING_ID");
    char rid[256];
    len = sizeof rid;
    CHECK_OK (zmq_getsockopt (d, ZMQ_ROUTING_ID, rid, &len), "get ROUTING_ID");
    CHECK (len == 3 && memcmp (rid, "abc", 3) == 0, "ROUTING_ID round trip");
    /* ZMQ_IDENTITY is the old name of the same option */
    CHECK (ZMQ_IDENTITY == ZMQ_ROUTING_ID, "IDENTITY alias");
    CHECK_OK (zmq_close (d), "close");

    CHECK_OK (zmq_close (a), "close");
    CHECK_OK (zmq_close (b), "close");
}

static void *delayed_write (void *arg)
{
    int fd = *(int *) arg;
    tu_sleep_ms (100);
    CHECK (write (fd, "w", 1) == 1, "delayed write to pipe");
    return NULL;
}

static void test_poll_fd (void *ctx)
{
    int p[2];
    CHECK (pipe (p) == 0, "pipe");
    zmq_pollitem_t item = {NULL, p[0], ZMQ_POLLIN, 0};

    /* timeout 0: immediate, nothing ready */
    int64_t t0 = tu_now_ms ();
    CHECK (zmq_poll (&item, 1, 0) == 0, "poll(0) on empty pipe returns 0");
    CHECK (tu_now_ms () - t0 < 1000, "poll(0) returns immediately");
    CHECK (item.revents == 0, "no revents on empty pipe");

    /* timeout N: waits about N ms */
    t0 = tu_now_ms ();
    CHECK (zmq_poll (&item, 1, 150) == 0, "poll(150) on empty pipe times out");
    int64_t waited = tu_now_ms () - t0;
    printf ("poll(150) waited %lld ms\n", (long long) waited);
    CHECK (waited >= 100, "poll(150) waits about 150 ms");
    CHECK (waited < 5000, "poll(150) does not wait far too long");

    /* data ready */
    CHECK (write (p[1], "x", 1) == 1, "write to pipe");
    CHECK (zmq_poll (&item, 1, 0) == 1, "poll(0) with data returns 1");
    CHECK (item.revents & ZMQ_POLLIN, "pipe fd reports POLLIN");
    t0 = tu_now_ms ();
    CHECK (zmq_poll (&item, 1, -1) == 1, "poll(-1) with data returns 1");
    CHECK (tu_now_ms () - t0 < 1000, "poll(-1) with data is immediate");
    char c;
    CHECK (read (p[0], &c, 1) == 1 && c == 'x', "read pipe");

    /* timeout -1 waits until something happens */
    pthread_t t = tu_thread_start (delayed_write, &p[1]);
    t0 = tu_now_ms ();
    CHECK (zmq_poll (&item, 1, -1) == 1, "poll(-1) wakes on delayed write");
    waited = tu_now_ms () - t0;
    CHECK (item.revents & ZMQ_POLLIN, "POLLIN after delayed write");
    CHECK (waited >= 50, "poll(-1) blocked until the write");
    tu_thread_join (t);
    CHECK (read (p[0], &c, 1) == 1 && c == 'w', "read pipe");

    /* POLLOUT on the write end */
    zmq_pollitem_t witem = {NULL, p[1], ZMQ_POLLOUT, 0};
    CHECK (zmq_poll (&witem, 1, 0) == 1, "pipe write end is writable");
    CHECK (witem.revents & ZMQ_POLLOUT, "POLLOUT on pipe write end");

    /* mixing a socket and an fd */
    void *pull = tu_socket (ctx, ZMQ_PULL);
    void *push = tu_socket (ctx, ZMQ_PUSH);
    char ep[256];
    tu_bind_ephemeral (pull, "inproc", ep, sizeof ep);
    CHECK_OK (zmq_connect (push, ep), "connect");
    zmq_pollitem_t items[2] = {{pull, 0, ZMQ_POLLIN, 0},
                               {NULL, p[0], ZMQ_POLLIN, 0}};
    CHECK (zmq_poll (items, 2, 0) == 0, "nothing ready in mixed poll");
    CHECK (zmq_send (push, "m", 1, 0) == 1, "send");
    CHECK (zmq_poll (items, 2, TU_TIMEOUT_MS) == 1, "socket ready in mixed poll");
    CHECK (items[0].revents == ZMQ_POLLIN, "socket item has POLLIN");
    CHECK (items[1].revents == 0, "fd item has nothing");
    CHECK (write (p[1], "y", 1) == 1, "write");
    CHECK (zmq_poll (items, 2, TU_TIMEOUT_MS) == 2, "both ready in mixed poll");
    CHECK_OK (zmq_close (push), "close");
    CHECK_OK (zmq_close (pull), "close");

    /* no items: zmq_poll just sleeps for the timeout */
    t0 = tu_now_ms ();
    CHECK (zmq_poll (NULL, 0, 100) == 0, "poll with no items returns 0");
    CHECK (tu_now_ms () - t0 >= 50, "poll with no items sleeps the timeout");

    close (p[0]);
    close (p[1]);
}

static void test_ctx_options (void)
{
    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");
    CHECK (zmq_ctx_get (ctx, ZMQ_IO_THREADS) == 1, "IO_THREADS default 1");
    CHECK (zmq_ctx_get (ctx, ZMQ_MAX_SOCKETS) == 1023,
           "MAX_SOCKETS default 1023");
    int limit = zmq_ctx_get (ctx, ZMQ_SOCKET_LIMIT);
    printf ("SOCKET_LIMIT = %d\n", limit);
    CHECK (limit >= 1023, "SOCKET_LIMIT at least MAX_SOCKETS");
    CHECK (zmq_ctx_get (ctx, ZMQ_MSG_T_SIZE) == 64, "MSG_T_SIZE is 64");
    CHECK (zmq_ctx_get (ctx, ZMQ_MSG_T_SIZE) == (int) sizeof (zmq_msg_t),
           "MSG_T_SIZE equals sizeof(zmq_msg_t)");
    CHECK (zmq_ctx_get (ctx, ZMQ_IPV6) == 0, "IPV6 default 0");
    CHECK (zmq_ctx_get (ctx, ZMQ_BLOCKY) == 1, "BLOCKY default 1");

    CHECK_OK (zmq_ctx_set (ctx, ZMQ_IO_THREADS, 2), "set IO_THREADS 2");
    CHECK (zmq_ctx_get (ctx, ZMQ_IO_THREADS) == 2, "IO_THREADS reads back 2");
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_MAX_SOCKETS, 512), "set MAX_SOCKETS 512");
    CHECK (zmq_ctx_get (ctx, ZMQ_MAX_SOCKETS) == 512,
           "MAX_SOCKETS reads back 512");
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_IPV6, 1), "set IPV6 1");
    CHECK (zmq_ctx_get (ctx, ZMQ_IPV6) == 1, "IPV6 reads back 1");
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_IPV6, 0), "set IPV6 0");

    CHECK_ERR (zmq_ctx_set (ctx, 9999, 1), EINVAL, "ctx_set unknown -> EINVAL");
    CHECK_ERR (zmq_ctx_get (ctx, 9999), EINVAL, "ctx_get unknown -> EINVAL");
    CHECK_ERR (zmq_ctx_set (ctx, ZMQ_IO_THREADS, -1), EINVAL,
               "ctx_set IO_THREADS -1 -> EINVAL");
    CHECK_ERR (zmq_ctx_set (ctx, ZMQ_MAX_SOCKETS, -1), EINVAL,
               "ctx_set MAX_SOCKETS -1 -> EINVAL");
    CHECK_ERR (zmq_ctx_set (ctx, ZMQ_MSG_T_SIZE, 5), EINVAL,
               "MSG_T_SIZE is read-only -> EINVAL");
    CHECK (zmq_ctx_get (ctx, ZMQ_IO_THREADS) == 2,
           "failed set leaves IO_THREADS alone");

    /* the settings take effect: a socket works with 2 I/O threads */
    void *a = tu_socket (ctx, ZMQ_PAIR);
    void *b = tu_socket (ctx, ZMQ_PAIR);
    char ep[256];
    tu_bind_ephemeral (a, "tcp", ep, sizeof ep);
    CHECK_OK (zmq_connect (b, ep), "connect");
    CHECK (zmq_send (b, "io", 2, 0) == 2, "send with 2 io threads");
    char buf[4];
    CHECK (zmq_recv (a, buf, sizeof buf, 0) == 2, "recv with 2 io threads");
    CHECK_OK (zmq_close (a), "close");
    CHECK_OK (zmq_close (b), "close");
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");

    /* MAX_SOCKETS is enforced: EMFILE beyond the limit */
    ctx = zmq_ctx_new ();
    CHECK_OK (zmq_ctx_set (ctx, ZMQ_MAX_SOCKETS, 3), "set MAX_SOCKETS 3");
    void *s[4];
    for (int i = 0; i < 3; i++) {
        s[i] = zmq_socket (ctx, ZMQ_PAIR);
        CHECK (s[i] != NULL, "sockets up to MAX_SOCKETS");
    }
    CHECK_NULL_ERR (zmq_socket (ctx, ZMQ_PAIR), EMFILE,
                    "socket beyond MAX_SOCKETS -> NULL/EMFILE");
    CHECK_OK (zmq_close (s[0]), "close one");
    /* zmq_close is asynchronous: the slot comes back once the socket has
     * been reaped, so allow a little time */
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    while ((s[3] = zmq_socket (ctx, ZMQ_PAIR)) == NULL) {
        CHECK (errno == EMFILE, "only EMFILE while the slot is busy");
        CHECK (tu_now_ms () < deadline, "a slot frees up after close");
        tu_sleep_ms (1);
    }
    for (int i = 1; i < 4; i++)
        CHECK_OK (zmq_close (s[i]), "close");
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");

    /* deprecated zmq_init / zmq_term still work */
    ctx = zmq_init (1);
    CHECK (ctx != NULL, "zmq_init(1)");
    CHECK (zmq_ctx_get (ctx, ZMQ_IO_THREADS) == 1, "zmq_init io threads");
    CHECK_OK (zmq_term (ctx), "zmq_term");
}

int main (void)
{
    tu_init (50);
    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");

    test_getsockopt (ctx);
    printf ("getsockopt: OK\n");
    test_poll_fd (ctx);
    printf ("zmq_poll on fds / timeouts: OK\n");
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");

    test_ctx_options ();
    printf ("context options: OK\n");
    return 0;
}
