/*  inproc_lat <message-size> <roundtrip-count> [reqrep]

    Latency over inproc inside one process: the main thread's REQ sends a message of
    <message-size> bytes to a second thread's REP, which sends it back, <roundtrip-count>
    times; prints half the mean roundtrip time, as libzmq's inproc_lat. */

#include "perf_common.h"

#include <pthread.h>

static const char usage[] = "usage: inproc_lat <message-size> <roundtrip-count> [reqrep]\n";
static const char endpoint[] = "inproc://lat_test";

static size_t message_size;
static long roundtrip_count;

static void *echo (void *ctx_)
{
    void *s = perf_socket (ctx_, ZMQ_REP);
    zmq_msg_t msg;
    long i;
    perf_check (zmq_connect (s, endpoint), "zmq_connect");
    perf_check (zmq_msg_init (&msg), "zmq_msg_init");
    for (i = 0; i != roundtrip_count; i++) {
        perf_recv_one (s, &msg, message_size);
        if (zmq_msg_send (&msg, s, 0) == -1)
            perf_fail ("zmq_msg_send");
    }
    perf_check (zmq_msg_close (&msg), "zmq_msg_close");
    perf_check (zmq_close (s), "zmq_close");
    return NULL;
}

int main (int argc, char *argv[])
{
    void *ctx, *s;
    pthread_t thread;
    zmq_msg_t msg;
    double latency;
    perf_samples_t samples;
    unsigned long elapsed;
    int rc;

    if (argc != 3 && argc != 4) {
        printf ("%s", usage);
        return 1;
    }
    message_size = perf_parse_size (argv[1]);
    roundtrip_count = perf_parse_count (argv[2]);
    perf_pattern_from (argc == 4 ? argv[3] : NULL, PERF_REQREP, 1u << PERF_REQREP, usage);

    ctx = zmq_ctx_new ();
    if (!ctx)
        perf_fail ("zmq_ctx_new");
    s = perf_socket (ctx, ZMQ_REQ);
    perf_check (zmq_bind (s, endpoint), "zmq_bind");

    rc = pthread_create (&thread, NULL, echo, ctx);
    if (rc != 0) {
        printf ("error in pthread_create: %s\n", strerror (rc));
        return 1;
    }

    perf_check (zmq_msg_init_size (&msg, message_size), "zmq_msg_init_size");
    memset (zmq_msg_data (&msg), 0, message_size);

    printf ("message size: %d [B]\n", (int) message_size);
    printf ("roundtrip count: %d\n", (int) roundtrip_count);
    fflush (stdout);

    elapsed = perf_roundtrips (s, &msg, message_size, roundtrip_count, &samples);
    perf_check (zmq_msg_close (&msg), "zmq_msg_close");

    pthread_join (thread, NULL);
    latency = (double) elapsed / ((double) roundtrip_count * 2);
    printf ("average latency: %.3f [us]\n", latency);
    fflush (stdout);
    perf_print_percentiles (&samples);

    perf_check (zmq_close (s), "zmq_close");
    perf_check (zmq_ctx_term (ctx), "zmq_ctx_term");
    return 0;
}
