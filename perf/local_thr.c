/*  local_thr <bind-to> <message-size> <message-count> [pushpull|pubsub]

    Receiving end of the throughput test: binds a PULL (or, with "pubsub", a SUB subscribed
    to everything), receives <message-count> messages and prints the mean throughput, timed
    from the first message to the last (as libzmq's local_thr does). Run remote_thr against
    it. */

#include "perf_common.h"

static const char usage[] =
  "usage: local_thr <bind-to> <message-size> <message-count> [pushpull|pubsub]\n";

int main (int argc, char *argv[])
{
    const char *bind_to;
    size_t message_size;
    long message_count, i;
    enum perf_pattern pattern;
    void *ctx, *s;
    zmq_msg_t msg;
    double start;
    unsigned long elapsed;

    if (argc != 4 && argc != 5) {
        printf ("%s", usage);
        return 1;
    }
    bind_to = argv[1];
    message_size = perf_parse_size (argv[2]);
    message_count = perf_parse_count (argv[3]);
    pattern = perf_pattern_from (argc == 5 ? argv[4] : NULL, PERF_PUSHPULL,
                                 (1u << PERF_PUSHPULL) | (1u << PERF_PUBSUB), usage);

    ctx = zmq_ctx_new ();
    if (!ctx)
        perf_fail ("zmq_ctx_new");
    s = pattern == PERF_PUBSUB ? perf_open_subscriber (ctx) : perf_socket (ctx, ZMQ_PULL);
    perf_check (zmq_bind (s, bind_to), "zmq_bind");

    perf_check (zmq_msg_init (&msg), "zmq_msg_init");
    perf_recv_one (s, &msg, message_size);
    start = perf_now_us ();
    for (i = 1; i < message_count; i++)
        perf_recv_one (s, &msg, message_size);
    elapsed = perf_elapsed_us (start);
    perf_check (zmq_msg_close (&msg), "zmq_msg_close");

    perf_print_throughput (message_size, message_count, elapsed, 1);

    perf_check (zmq_close (s), "zmq_close");
    perf_check (zmq_ctx_term (ctx), "zmq_ctx_term");
    return 0;
}
