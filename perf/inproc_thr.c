/*  inproc_thr <message-size> <message-count> [pushpull|pubsub]

    Throughput over inproc inside one process: a second thread connects a PUSH (or an XPUB
    with XPUB_NODROP, with "pubsub") and sends <message-count> messages to the main thread's
    PULL (or SUB), which times them from the first to the last, as libzmq's inproc_thr. */

#include "perf_common.h"

#include <pthread.h>

static const char usage[] = "usage: inproc_thr <message-size> <message-count> [pushpull|pubsub]\n";
static const char endpoint[] = "inproc://thr_test";

static size_t message_size;
static long message_count;
static enum perf_pattern pattern;

static void *sender (void *ctx_)
{
    void *s = pattern == PERF_PUBSUB ? perf_open_publisher (ctx_) : perf_socket (ctx_, ZMQ_PUSH);
    perf_check (zmq_connect (s, endpoint), "zmq_connect");
    if (pattern == PERF_PUBSUB)
        perf_wait_subscription (s);
    perf_send_messages (s, message_size, message_count);
    perf_check (zmq_close (s), "zmq_close");
    return NULL;
}

int main (int argc, char *argv[])
{
    void *ctx, *s;
    pthread_t thread;
    zmq_msg_t msg;
    double start;
    unsigned long elapsed;
    long i;
    int rc;

    if (argc != 3 && argc != 4) {
        printf ("%s", usage);
        return 1;
    }
    message_size = perf_parse_size (argv[1]);
    message_count = perf_parse_count (argv[2]);
    pattern = perf_pattern_from (argc == 4 ? argv[3] : NULL, PERF_PUSHPULL,
                                 (1u << PERF_PUSHPULL) | (1u << PERF_PUBSUB), usage);

    ctx = zmq_ctx_new ();
    if (!ctx)
        perf_fail ("zmq_ctx_new");
    s = pattern == PERF_PUBSUB ? perf_open_subscriber (ctx) : perf_socket (ctx, ZMQ_PULL);
    perf_check (zmq_bind (s, endpoint), "zmq_bind");

    rc = pthread_create (&thread, NULL, sender, ctx);
    if (rc != 0) {
        printf ("error in pthread_create: %s\n", strerror (rc));
        return 1;
    }

    printf ("message size: %d [B]\n", (int) message_size);
    printf ("message count: %d\n", (int) message_count);
    fflush (stdout);

    perf_check (zmq_msg_init (&msg), "zmq_msg_init");
    perf_recv_one (s, &msg, message_size);
    start = perf_now_us ();
    for (i = 1; i < message_count; i++)
        perf_recv_one (s, &msg, message_size);
    elapsed = perf_elapsed_us (start);
    perf_check (zmq_msg_close (&msg), "zmq_msg_close");

    pthread_join (thread, NULL);
    /*  Printed before the teardown (libzmq prints after it): a hang there cannot hide the
        measurement. */
    perf_print_throughput (message_size, message_count, elapsed, 0);

    perf_check (zmq_close (s), "zmq_close");
    perf_check (zmq_ctx_term (ctx), "zmq_ctx_term");
    return 0;
}
