/*  local_lat <bind-to> <message-size> <roundtrip-count> [reqrep]

    Echoing end of the latency test: binds a REP and sends every request back,
    <roundtrip-count> times. Prints nothing. Run remote_lat against it. */

#include "perf_common.h"

static const char usage[] =
  "usage: local_lat <bind-to> <message-size> <roundtrip-count> [reqrep]\n";

int main (int argc, char *argv[])
{
    const char *bind_to;
    size_t message_size;
    long roundtrip_count, i;
    void *ctx, *s;
    zmq_msg_t msg;

    if (argc != 4 && argc != 5) {
        printf ("%s", usage);
        return 1;
    }
    bind_to = argv[1];
    message_size = perf_parse_size (argv[2]);
    roundtrip_count = perf_parse_count (argv[3]);
    perf_pattern_from (argc == 5 ? argv[4] : NULL, PERF_REQREP, 1u << PERF_REQREP, usage);

    ctx = zmq_ctx_new ();
    if (!ctx)
        perf_fail ("zmq_ctx_new");
    s = perf_socket (ctx, ZMQ_REP);
    perf_check (zmq_bind (s, bind_to), "zmq_bind");

    perf_check (zmq_msg_init (&msg), "zmq_msg_init");
    for (i = 0; i != roundtrip_count; i++) {
        perf_recv_one (s, &msg, message_size);
        if (zmq_msg_send (&msg, s, 0) == -1)
            perf_fail ("zmq_msg_send");
    }
    perf_check (zmq_msg_close (&msg), "zmq_msg_close");

    perf_check (zmq_close (s), "zmq_close");
    perf_check (zmq_ctx_term (ctx), "zmq_ctx_term");
    return 0;
}
