/*  Helpers shared by the perf tools of this directory.

    The tools use only the public, stable libzmq API (zmq.h of 4.3.x, no draft API), so that
    the very same sources build against this repository's library and against any libzmq
    4.3.x (Debian's, for example). Their command lines and output lines are libzmq's own, so
    numbers can be compared with those of libzmq's perf tools.

    Time is taken with clock_gettime (CLOCK_MONOTONIC) rather than zmq_stopwatch_*, so that
    the library under test does not measure itself.

    The socket pattern can be chosen with an optional extra last argument or the environment
    variable ZMQ_PERF_PATTERN; without either a tool behaves like libzmq's. */

#ifndef ZMQ_PERF_COMMON_H_INCLUDED
#define ZMQ_PERF_COMMON_H_INCLUDED

#include <zmq.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*  The patterns a tool can be asked to use. */
enum perf_pattern
{
    PERF_PUSHPULL, /*  throughput: PUSH -> PULL (libzmq's default) */
    PERF_PUBSUB,   /*  throughput: XPUB with XPUB_NODROP -> SUB */
    PERF_REQREP,   /*  latency: REQ <-> REP (libzmq's default) */
    PERF_XPUBXSUB  /*  proxy: XPUB -> XSUB|proxy|XPUB -> SUB (libzmq's proxy_thr) */
};

static inline double perf_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

/*  Elapsed microseconds since START, at least 1 (as libzmq's tools do). */
static inline unsigned long perf_elapsed_us (double start_)
{
    double d = perf_now_us () - start_;
    unsigned long us = d < 1.0 ? 1UL : (unsigned long) d;
    return us;
}

static inline void perf_fail (const char *what_)
{
    printf ("error in %s: %s\n", what_, zmq_strerror (zmq_errno ()));
    fflush (stdout);
    exit (1);
}

static inline void perf_check (int rc_, const char *what_)
{
    if (rc_ == -1)
        perf_fail (what_);
}

static inline void *perf_socket (void *ctx_, int type_)
{
    void *s = zmq_socket (ctx_, type_);
    if (!s)
        perf_fail ("zmq_socket");
    return s;
}

static inline const char *perf_pattern_name (enum perf_pattern p_)
{
    switch (p_) {
        case PERF_PUSHPULL:
            return "pushpull";
        case PERF_PUBSUB:
            return "pubsub";
        case PERF_REQREP:
            return "reqrep";
        case PERF_XPUBXSUB:
            return "xpubxsub";
    }
    return "?";
}

/*  The pattern from ARG (the optional extra argument, may be NULL) or else from
    $ZMQ_PERF_PATTERN, else DEFAULT. Only the patterns in ALLOWED (a bit set of
    1 << perf_pattern) are accepted; anything else prints the usage and exits. */
static inline enum perf_pattern
perf_pattern_from (const char *arg_, enum perf_pattern default_, unsigned allowed_,
                   const char *usage_)
{
    const char *name = arg_;
    int p;
    if (!name || !*name)
        name = getenv ("ZMQ_PERF_PATTERN");
    if (!name || !*name)
        return default_;
    for (p = PERF_PUSHPULL; p <= PERF_XPUBXSUB; p++) {
        if ((allowed_ & (1u << p))
            && strcmp (name, perf_pattern_name ((enum perf_pattern) p)) == 0)
            return (enum perf_pattern) p;
    }
    printf ("%s", usage_);
    printf ("unknown pattern: %s\n", name);
    exit (1);
}

/*  PUB/SUB without losing messages: the sender is an XPUB with XPUB_NODROP (a full pipe
    blocks the sender instead of dropping), and it waits for the first subscription before
    sending, so that no message is sent before the subscriber is there. */
static inline void *perf_open_publisher (void *ctx_)
{
    int one = 1;
    void *s = perf_socket (ctx_, ZMQ_XPUB);
    perf_check (zmq_setsockopt (s, ZMQ_XPUB_NODROP, &one, sizeof one),
                "zmq_setsockopt (ZMQ_XPUB_NODROP)");
    return s;
}

static inline void perf_wait_subscription (void *xpub_)
{
    unsigned char buf[256];
    int rc;
    /*  A subscription is 0x01 followed by the topic; skip anything else. */
    do {
        rc = zmq_recv (xpub_, buf, sizeof buf, 0);
        perf_check (rc, "zmq_recv (subscription)");
    } while (rc < 1 || buf[0] != 1);
}

static inline void *perf_open_subscriber (void *ctx_)
{
    void *s = perf_socket (ctx_, ZMQ_SUB);
    perf_check (zmq_setsockopt (s, ZMQ_SUBSCRIBE, "", 0), "zmq_setsockopt (ZMQ_SUBSCRIBE)");
    return s;
}

/*  Sends COUNT messages of SIZE bytes, each a fresh zmq_msg_init_size (as libzmq's
    remote_thr does). */
static inline void perf_send_messages (void *s_, size_t size_, long count_)
{
    long i;
    zmq_msg_t msg;
    for (i = 0; i != count_; i++) {
        perf_check (zmq_msg_init_size (&msg, size_), "zmq_msg_init_size");
        if (zmq_msg_send (&msg, s_, 0) == -1)
            perf_fail ("zmq_msg_send");
        /*  zmq_msg_send took the content; closing the now empty message is a no-op. */
        perf_check (zmq_msg_close (&msg), "zmq_msg_close");
    }
}

/*  With ZMQ_PERF_HOLD=<path> in the environment, waits (at most 60 s) until <path> exists.
    remote_thr calls it between its last send and zmq_close, so that its connection stays up
    until the bench has seen local_thr finish: libzmq 4.3.x drops what is still in the kernel
    when an ipc peer closes while the receiver sits at its HWM, and its local_thr then waits
    forever. It changes no measurement: local_thr times first message to last. Without the
    variable the tool closes at once, as libzmq's does. */
static inline void perf_hold (void)
{
    const char *path = getenv ("ZMQ_PERF_HOLD");
    struct timespec tick = {0, 10 * 1000 * 1000};
    int i;
    if (!path || !*path)
        return;
    for (i = 0; i < 6000 && access (path, F_OK) != 0; i++)
        nanosleep (&tick, NULL);
}

/*  Receives one message into MSG and checks its size. */
static inline void perf_recv_one (void *s_, zmq_msg_t *msg_, size_t size_)
{
    if (zmq_msg_recv (msg_, s_, 0) == -1)
        perf_fail ("zmq_msg_recv");
    if (zmq_msg_size (msg_) != size_) {
        printf ("message of incorrect size received\n");
        fflush (stdout);
        exit (1);
    }
}

/*  Roundtrip times, for the median and tail of the latency tools (libzmq's print only the
    mean, which one preempted roundtrip on a busy machine can move a lot). Taking the time
    around every roundtrip costs tens of nanoseconds (vDSO clock_gettime), the same for any
    library under test. */
typedef struct
{
    double *us;
    long n, cap;
} perf_samples_t;

static inline void perf_samples_init (perf_samples_t *s_, long cap_)
{
    s_->us = (double *) malloc ((size_t) cap_ * sizeof (double));
    if (!s_->us) {
        printf ("error in malloc: out of memory\n");
        exit (1);
    }
    s_->n = 0;
    s_->cap = cap_;
}

static inline void perf_samples_add (perf_samples_t *s_, double us_)
{
    if (s_->n < s_->cap)
        s_->us[s_->n++] = us_;
}

static inline int perf_cmp_double (const void *a_, const void *b_)
{
    double a = *(const double *) a_, b = *(const double *) b_;
    return a < b ? -1 : a > b;
}

/*  Prints the one-way median and 99th percentile (half the roundtrip's) after libzmq's lines,
    and frees the samples. */
static inline void perf_print_percentiles (perf_samples_t *s_)
{
    if (s_->n > 0) {
        qsort (s_->us, (size_t) s_->n, sizeof (double), perf_cmp_double);
        printf ("p50 latency: %.3f [us]\n", s_->us[(s_->n - 1) / 2] / 2);
        printf ("p99 latency: %.3f [us]\n", s_->us[(s_->n - 1) * 99 / 100] / 2);
        fflush (stdout);
    }
    free (s_->us);
    s_->us = NULL;
}

/*  The REQ side of the latency tests: COUNT roundtrips of MSG (SIZE bytes) over S, each timed
    into SAMPLES (initialised here). Returns the elapsed microseconds from before the first
    request, as libzmq's remote_lat times it. */
static inline unsigned long perf_roundtrips (void *s_, zmq_msg_t *msg_, size_t size_,
                                             long count_, perf_samples_t *samples_)
{
    double start, t, t1;
    long i;
    perf_samples_init (samples_, count_);
    start = t = perf_now_us ();
    for (i = 0; i != count_; i++) {
        if (zmq_msg_send (msg_, s_, 0) == -1)
            perf_fail ("zmq_msg_send");
        perf_recv_one (s_, msg_, size_);
        t1 = perf_now_us ();
        perf_samples_add (samples_, t1 - t);
        t = t1;
    }
    return perf_elapsed_us (start);
}

/*  Throughput lines as libzmq prints them (and computed the same way). */
static inline void perf_print_throughput (size_t size_, long count_, unsigned long elapsed_,
                                          int with_header_)
{
    unsigned long throughput =
      (unsigned long) ((double) count_ / (double) elapsed_ * 1000000);
    double megabits = (double) (throughput * size_ * 8) / 1000000;
    if (with_header_) {
        printf ("message size: %d [B]\n", (int) size_);
        printf ("message count: %d\n", (int) count_);
    }
    printf ("mean throughput: %d [msg/s]\n", (int) throughput);
    printf ("mean throughput: %.3f [Mb/s]\n", (double) megabits);
    fflush (stdout);
}

static inline long perf_parse_count (const char *s_)
{
    char *end;
    long v = strtol (s_, &end, 10);
    if (*s_ == '\0' || *end != '\0' || v < 1) {
        printf ("invalid number: %s\n", s_);
        exit (1);
    }
    return v;
}

static inline size_t perf_parse_size (const char *s_)
{
    char *end;
    long v = strtol (s_, &end, 10);
    if (*s_ == '\0' || *end != '\0' || v < 0) {
        printf ("invalid size: %s\n", s_);
        exit (1);
    }
    return (size_t) v;
}

#endif
