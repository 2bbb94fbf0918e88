/*  remote_lat <connect-to> <message-size> <roundtrip-count> [reqrep]

    Measuring end of the latency test: connects a REQ, sends a message of <message-size>
    bytes and waits for it to come back, <roundtrip-count> times, and prints the average
    one-way latency (half the mean roundtrip time), timed from before the first request (as
    libzmq's remote_lat does: start local_lat first). */

#include "perf_common.h"

static const char usage[] =
  "usage: remote_lat <connect-to> <message-size> <roundtrip-count> [reqrep]\n";

int main (int argc, char *argv[])
{
    const char *connect_to;
    size_t message_size;
    long roundtrip_count;
    void *ctx, *s;
    zmq_msg_t msg;
    double latency;
    perf_samples_t samples;
    unsigned long elapsed;

    if (argc != 4 && argc != 5) {
        printf ("%s", usage);
        return 1;
    }
    connect_to = argv[1];
    message_size = perf_parse_size (argv[2]);
    roundtrip_count = perf_parse_count (argv[3]);
    perf_pattern_from (argc == 5 ? argv[4] : NULL, PERF_REQREP, 1u << PERF_REQREP, usage);

    ctx = zmq_ctx_new ();
    if (!ctx)
        perf_fail ("zmq_ctx_new");
    s = perf_socket (ctx, ZMQ_REQ);
    perf_check (zmq_connect (s, connect_to), "zmq_connect");

    perf_check (zmq_msg_init_size (&msg, message_size), "zmq_msg_init_size");
    memset (zmq_msg_data (&msg), 0, message_size);

    elapsed = perf_roundtrips (s, &msg, message_size, roundtrip_count, &samples);
    perf_check (zmq_msg_close (&msg), "zmq_msg_close");

    latency = (double) elapsed / ((double) roundtrip_count * 2);
    printf ("message size: %d [B]\n", (int) message_size);
    printf ("roundtrip count: %d\n", (int) roundtrip_count);
    printf ("average latency: %.3f [us]\n", latency);
    fflush (stdout);
    perf_print_percentiles (&samples);

    perf_check (zmq_close (s), "zmq_close");
    perf_check (zmq_ctx_term (ctx), "zmq_ctx_term");
    return 0;
}
