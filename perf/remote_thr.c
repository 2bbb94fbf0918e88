/*  remote_thr <connect-to> <message-size> <message-count> [pushpull|pubsub]

    Sending end of the throughput test: connects a PUSH (or, with "pubsub", an XPUB with
    XPUB_NODROP that first waits for the subscription) and sends <message-count> messages of
    <message-size> bytes, each from a fresh zmq_msg_init_size, then closes with the default
    linger so that every message is delivered before it exits. Prints nothing. With
    ZMQ_PERF_HOLD=<path> it waits for <path> to exist before it closes (perf_common.h). */

#include "perf_common.h"

static const char usage[] =
  "usage: remote_thr <connect-to> <message-size> <message-count> [pushpull|pubsub]\n";

int main (int argc, char *argv[])
{
    const char *connect_to;
    size_t message_size;
    long message_count;
    enum perf_pattern pattern;
    void *ctx, *s;

    if (argc != 4 && argc != 5) {
        printf ("%s", usage);
        return 1;
    }
    connect_to = argv[1];
    message_size = perf_parse_size (argv[2]);
    message_count = perf_parse_count (argv[3]);
    pattern = perf_pattern_from (argc == 5 ? argv[4] : NULL, PERF_PUSHPULL,
                                 (1u << PERF_PUSHPULL) | (1u << PERF_PUBSUB), usage);

    ctx = zmq_ctx_new ();
    if (!ctx)
        perf_fail ("zmq_ctx_new");
    s = pattern == PERF_PUBSUB ? perf_open_publisher (ctx) : perf_socket (ctx, ZMQ_PUSH);
    perf_check (zmq_connect (s, connect_to), "zmq_connect");
    if (pattern == PERF_PUBSUB)
        perf_wait_subscription (s);

    perf_send_messages (s, message_size, message_count);
    perf_hold ();

    perf_check (zmq_close (s), "zmq_close");
    perf_check (zmq_ctx_term (ctx), "zmq_ctx_term");
    return 0;
}
