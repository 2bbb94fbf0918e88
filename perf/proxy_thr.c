/*  proxy_thr <message-size> <message-count> [xpubxsub|pushpull]

    Throughput through zmq_proxy_steerable, all over inproc, in the shape of libzmq's
    proxy_thr: two publisher threads (XPUB with XPUB_NODROP, each waiting for the
    subscription first) flood the proxy's XSUB frontend, the proxy forwards to its XPUB
    backend (XPUB_NODROP), and one SUB receives. Every socket has send and receive HWMs of
    10000 and the context four I/O threads. With "pushpull" the same with PUSH -> PULL|proxy|
    PUSH -> PULL. Unlike libzmq's, the two senders send <message-count> messages between them
    (not each), so that every message sent is received. Timed from before the senders start
    until the receiver has them all; the proxy is stopped with TERMINATE on its control
    socket. */

#include "perf_common.h"

#include <pthread.h>

static const char usage[] =
  "usage: proxy_thr <message-size> <message-count> [xpubxsub|pushpull]\n";

#define HWM 10000
#define SENDERS 2

static const char *const frontend_endpoints[SENDERS] = {"inproc://perf_pub1",
                                                        "inproc://perf_pub2"};
static const char backend_endpoint[] = "inproc://perf_backend";
static const char control_endpoint[] = "inproc://perf_ctrl";

static size_t message_size;
static long message_count;
static enum perf_pattern pattern;
static void *ctx;

struct sender_cfg
{
    int index;
    long count;
};

static void set_hwm (void *s_)
{
    int hwm = HWM;
    perf_check (zmq_setsockopt (s_, ZMQ_SNDHWM, &hwm, sizeof hwm), "zmq_setsockopt (SNDHWM)");
    perf_check (zmq_setsockopt (s_, ZMQ_RCVHWM, &hwm, sizeof hwm), "zmq_setsockopt (RCVHWM)");
}

static void *sender (void *arg_)
{
    const struct sender_cfg *cfg = (const struct sender_cfg *) arg_;
    void *s = pattern == PERF_XPUBXSUB ? perf_open_publisher (ctx) : perf_socket (ctx, ZMQ_PUSH);
    set_hwm (s);
    perf_check (zmq_connect (s, frontend_endpoints[cfg->index]), "zmq_connect");
    if (pattern == PERF_XPUBXSUB)
        perf_wait_subscription (s);
    perf_send_messages (s, message_size, cfg->count);
    perf_check (zmq_close (s), "zmq_close");
    return NULL;
}

static void *receiver (void *arg_)
{
    void *s = pattern == PERF_XPUBXSUB ? perf_socket (ctx, ZMQ_SUB) : perf_socket (ctx, ZMQ_PULL);
    zmq_msg_t msg;
    long i;
    (void) arg_;
    set_hwm (s);
    if (pattern == PERF_XPUBXSUB)
        perf_check (zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0), "zmq_setsockopt (SUBSCRIBE)");
    perf_check (zmq_connect (s, backend_endpoint), "zmq_connect");
    perf_check (zmq_msg_init (&msg), "zmq_msg_init");
    for (i = 0; i != message_count; i++)
        perf_recv_one (s, &msg, message_size);
    perf_check (zmq_msg_close (&msg), "zmq_msg_close");
    perf_check (zmq_close (s), "zmq_close");
    return NULL;
}

static void *proxy (void *arg_)
{
    void **sockets = (void **) arg_;
    /*  Returns when told TERMINATE; libzmq returns 0 then, older versions -1. */
    zmq_proxy_steerable (sockets[0], sockets[1], NULL, sockets[2]);
    return NULL;
}

int main (int argc, char *argv[])
{
    void *frontend, *backend, *control, *req;
    void *proxy_sockets[3];
    pthread_t proxy_thread, receiver_thread, sender_threads[SENDERS];
    struct sender_cfg cfgs[SENDERS];
    int io_threads = 4, one = 1, i;
    double start;
    unsigned long elapsed;

    if (argc != 3 && argc != 4) {
        printf ("%s", usage);
        return 1;
    }
    message_size = perf_parse_size (argv[1]);
    message_count = perf_parse_count (argv[2]);
    pattern = perf_pattern_from (argc == 4 ? argv[3] : NULL, PERF_XPUBXSUB,
                                 (1u << PERF_XPUBXSUB) | (1u << PERF_PUSHPULL), usage);
    printf ("message size: %d [B]\n", (int) message_size);
    printf ("message count: %d\n", (int) message_count);
    fflush (stdout);

    ctx = zmq_ctx_new ();
    if (!ctx)
        perf_fail ("zmq_ctx_new");
    perf_check (zmq_ctx_set (ctx, ZMQ_IO_THREADS, io_threads), "zmq_ctx_set (IO_THREADS)");

    /*  The proxy's sockets are made and bound here, before any thread connects. */
    frontend = perf_socket (ctx, pattern == PERF_XPUBXSUB ? ZMQ_XSUB : ZMQ_PULL);
    set_hwm (frontend);
    for (i = 0; i != SENDERS; i++)
        perf_check (zmq_bind (frontend, frontend_endpoints[i]), "zmq_bind (frontend)");
    backend = perf_socket (ctx, pattern == PERF_XPUBXSUB ? ZMQ_XPUB : ZMQ_PUSH);
    if (pattern == PERF_XPUBXSUB)
        perf_check (zmq_setsockopt (backend, ZMQ_XPUB_NODROP, &one, sizeof one),
                    "zmq_setsockopt (XPUB_NODROP)");
    set_hwm (backend);
    perf_check (zmq_bind (backend, backend_endpoint), "zmq_bind (backend)");
    control = perf_socket (ctx, ZMQ_REP);
    perf_check (zmq_bind (control, control_endpoint), "zmq_bind (control)");

    proxy_sockets[0] = frontend;
    proxy_sockets[1] = backend;
    proxy_sockets[2] = control;
    if (pthread_create (&proxy_thread, NULL, proxy, proxy_sockets) != 0
        || pthread_create (&receiver_thread, NULL, receiver, NULL) != 0) {
        printf ("error in pthread_create\n");
        return 1;
    }

    start = perf_now_us ();
    for (i = 0; i != SENDERS; i++) {
        cfgs[i].index = i;
        cfgs[i].count = message_count / SENDERS + (i < message_count % SENDERS ? 1 : 0);
        if (pthread_create (&sender_threads[i], NULL, sender, &cfgs[i]) != 0) {
            printf ("error in pthread_create\n");
            return 1;
        }
    }
    pthread_join (receiver_thread, NULL);
    elapsed = perf_elapsed_us (start);

    perf_print_throughput (message_size, message_count, elapsed, 0);

    for (i = 0; i != SENDERS; i++)
        pthread_join (sender_threads[i], NULL);

    req = perf_socket (ctx, ZMQ_REQ);
    perf_check (zmq_connect (req, control_endpoint), "zmq_connect (control)");
    if (zmq_send (req, "TERMINATE", 9, 0) != 9)
        perf_fail ("zmq_send (TERMINATE)");
    pthread_join (proxy_thread, NULL);
    perf_check (zmq_close (req), "zmq_close");
    perf_check (zmq_close (frontend), "zmq_close");
    perf_check (zmq_close (backend), "zmq_close");
    perf_check (zmq_close (control), "zmq_close");
    perf_check (zmq_ctx_term (ctx), "zmq_ctx_term");
    return 0;
}
