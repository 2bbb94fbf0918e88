/*  line_rtt [roundtrips]

    How long one cache line takes to go from one CPU to another and back, right now: two
    threads pass a counter back and forth through two cache lines (one written by each) and
    the mean time per roundtrip is printed as

        cache line roundtrip: <ns> [ns]

    On a VM the host decides where the virtual CPUs run, and moves them: on the machine
    this project is benchmarked on, the figure jumps between about 55, 135, 250 and 500 ns
    from one second to the next (the two vCPUs on one core, one core complex, or farther
    apart). A stream of small messages between two threads (inproc, or an application and
    its I/O thread) moves a few cache lines per message from the writer's CPU to the
    reader's, so its throughput follows that figure; perf/bench.sh runs this before each
    free-running run and records it beside the result. With a single CPU to run on it prints
    "-" instead. No ZeroMQ. */

#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] = "usage: line_rtt [roundtrips]\n";

/*  Each counter on a cache line of its own, so that only the two handovers move lines. */
struct line
{
    _Alignas (64) atomic_long v;
    char pad[64 - sizeof (atomic_long)];
};

static struct line ping, pong;
static long roundtrips = 20000;

static void *responder (void *arg_)
{
    long i;
    (void) arg_;
    for (i = 1; i <= roundtrips; i++) {
        while (atomic_load_explicit (&ping.v, memory_order_acquire) != i)
            ;
        atomic_store_explicit (&pong.v, i, memory_order_release);
    }
    return NULL;
}

int main (int argc, char *argv[])
{
    pthread_t thread;
    struct timespec t0, t1;
    double ns;
    long i;
    int rc;

    if (argc > 2) {
        printf ("%s", usage);
        return 1;
    }
    if (argc == 2) {
        char *end;
        roundtrips = strtol (argv[1], &end, 10);
        if (*end != '\0' || roundtrips <= 0) {
            printf ("%s", usage);
            return 1;
        }
    }
    /*  With one CPU the two threads would only take turns, a scheduler slice per handover. */
    {
        cpu_set_t cpus;
        if (sched_getaffinity (0, sizeof cpus, &cpus) == 0 && CPU_COUNT (&cpus) < 2) {
            printf ("cache line roundtrip: - (one CPU)\n");
            return 0;
        }
    }
    rc = pthread_create (&thread, NULL, responder, NULL);
    if (rc != 0) {
        printf ("error in pthread_create: %s\n", strerror (rc));
        return 1;
    }
    clock_gettime (CLOCK_MONOTONIC, &t0);
    for (i = 1; i <= roundtrips; i++) {
        atomic_store_explicit (&ping.v, i, memory_order_release);
        while (atomic_load_explicit (&pong.v, memory_order_acquire) != i)
            ;
    }
    clock_gettime (CLOCK_MONOTONIC, &t1);
    pthread_join (thread, NULL);
    ns = ((double) (t1.tv_sec - t0.tv_sec) * 1e9 + (double) (t1.tv_nsec - t0.tv_nsec))
         / (double) roundtrips;
    printf ("cache line roundtrip: %.1f [ns]\n", ns);
    return 0;
}
