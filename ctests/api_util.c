/*
 * API conformance: utility functions.
 *  - zmq_version reports 4.3.x and matches the header macros
 *  - zmq_strerror texts, zmq_errno
 *  - zmq_z85_encode / zmq_z85_decode
 *  - zmq_atomic_counter_*
 *  - zmq_timers_*
 *  - zmq_stopwatch_*
 *  - zmq_has
 */
#include "testutil.h"

static void test_version (void)
{
    int major = -1, minor = -1, patch = -1;
    zmq_version (&major, &minor, &patch);
    printf ("zmq_version: %d.%d.%d\n", major, minor, patch);
    CHECK (major == 4, "zmq_version major is 4");
    CHECK (minor == 3, "zmq_version minor is 3");
    CHECK (patch >= 0, "zmq_version patch is set");
    CHECK (major == ZMQ_VERSION_MAJOR && minor == ZMQ_VERSION_MINOR,
           "zmq_version agrees with zmq.h");
    CHECK (ZMQ_VERSION == ZMQ_MAKE_VERSION (ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR,
                                            ZMQ_VERSION_PATCH),
           "ZMQ_VERSION macro");
}

static void test_strerror (void)
{
    CHECK (strcmp (zmq_strerror (ETERM), "Context was terminated") == 0,
           "zmq_strerror(ETERM)");
    CHECK (strcmp (zmq_strerror (EFSM),
                   "Operation cannot be accomplished in current state")
             == 0,
           "zmq_strerror(EFSM)");
    CHECK (strcmp (zmq_strerror (ENOCOMPATPROTO),
                   "The protocol is not compatible with the socket type")
             == 0,
           "zmq_strerror(ENOCOMPATPROTO)");
    CHECK (strcmp (zmq_strerror (EMTHREAD), "No thread available") == 0,
           "zmq_strerror(EMTHREAD)");
    /* ordinary errno values fall through to the system text */
    CHECK (strcmp (zmq_strerror (EINVAL), strerror (EINVAL)) == 0,
           "zmq_strerror(EINVAL) is strerror(EINVAL)");
    CHECK (strcmp (zmq_strerror (EAGAIN), strerror (EAGAIN)) == 0,
           "zmq_strerror(EAGAIN) is strerror(EAGAIN)");
    CHECK (ETERM == ZMQ_HAUSNUMERO + 53, "ETERM value");
    CHECK (EFSM == ZMQ_HAUSNUMERO + 51, "EFSM value");

    errno = 0;
    CHECK (zmq_socket (NULL, ZMQ_PAIR) == NULL, "failing call");
    CHECK (zmq_errno () == EFAULT, "zmq_errno reports the last error");
}

static void test_z85 (void)
{
    /* test vector from the Z85 specification (ZMQ RFC 32) */
    const uint8_t raw[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    char enc[11];
    memset (enc, '#', sizeof enc);
    CHECK (zmq_z85_encode (enc, raw, 8) == enc, "z85_encode returns dest");
    CHECK (strcmp (enc, "HelloWorld") == 0, "z85_encode spec vector");

    uint8_t dec[8];
    memset (dec, 0, sizeof dec);
    CHECK (zmq_z85_decode (dec, "HelloWorld") == dec, "z85_decode returns dest");
    CHECK (memcmp (dec, raw, 8) == 0, "z85_decode spec vector");

    /* round trip of a 32-byte key-sized blob with every kind of byte */
    uint8_t blob[32], back[32];
    for (int i = 0; i < 32; i++)
        blob[i] = (uint8_t) (i * 37 + 255 - i);
    char text[41];
    CHECK (zmq_z85_encode (text, blob, 32) != NULL, "z85_encode 32 bytes");
    CHECK (strlen (text) == 40, "z85 of 32 bytes is 40 chars");
    CHECK (zmq_z85_decode (back, text) != NULL, "z85_decode 40 chars");
    CHECK (memcmp (blob, back, 32) == 0, "z85 round trip");

    /* all zeros / all ones */
    uint8_t zeros[4] = {0, 0, 0, 0}, ones[4] = {255, 255, 255, 255};
    char z[6];
    CHECK (zmq_z85_encode (z, zeros, 4) && strcmp (z, "00000") == 0,
           "z85 of zeros");
    CHECK (zmq_z85_encode (z, ones, 4) && strcmp (z, "%nSc0") == 0,
           "z85 of 0xFFFFFFFF");

    /* invalid sizes */
    CHECK_NULL_ERR (zmq_z85_encode (enc, raw, 3), EINVAL,
                    "z85_encode size not a multiple of 4 -> NULL/EINVAL");
    CHECK_NULL_ERR (zmq_z85_decode (dec, "abcd"), EINVAL,
                    "z85_decode length not a multiple of 5 -> NULL/EINVAL");
    CHECK_NULL_ERR (zmq_z85_decode (dec, "ab de"), EINVAL,
                    "z85_decode invalid character -> NULL/EINVAL");
}

#define COUNTER_THREADS 4
#define COUNTER_INCS 20000

static void *counter_hammer (void *arg)
{
    for (int i = 0; i < COUNTER_INCS; i++)
        zmq_atomic_counter_inc (arg);
    return NULL;
}

static void test_atomic_counter (void)
{
    void *c = zmq_atomic_counter_new ();
    CHECK (c != NULL, "atomic_counter_new");
    CHECK (zmq_atomic_counter_value (c) == 0, "new counter is 0");
    CHECK (zmq_atomic_counter_inc (c) == 0, "inc returns the old value 0");
    CHECK (zmq_atomic_counter_inc (c) == 1, "inc returns the old value 1");
    CHECK (zmq_atomic_counter_value (c) == 2, "value after two incs");
    CHECK (zmq_atomic_counter_dec (c) == 1,
           "dec returns 1 while the counter stays non-zero");
    CHECK (zmq_atomic_counter_dec (c) == 0, "dec returns 0 on reaching zero");
    CHECK (zmq_atomic_counter_value (c) == 0, "value back to 0");
    zmq_atomic_counter_set (c, 42);
    CHECK (zmq_atomic_counter_value (c) == 42, "set 42");

    zmq_atomic_counter_set (c, 0);
    pthread_t t[COUNTER_THREADS];
    for (int i = 0; i < COUNTER_THREADS; i++)
        t[i] = tu_thread_start (counter_hammer, c);
    for (int i = 0; i < COUNTER_THREADS; i++)
        tu_thread_join (t[i]);
    CHECK (zmq_atomic_counter_value (c) == COUNTER_THREADS * COUNTER_INCS,
           "concurrent increments are atomic");

    zmq_atomic_counter_destroy (&c);
    CHECK (c == NULL, "atomic_counter_destroy clears the pointer");
}

typedef struct
{
    int calls;
    int last_id;
} timer_log_t;

static void on_timer (int timer_id, void *arg)
{
    timer_log_t *log = arg;
    log->calls++;
    log->last_id = timer_id;
}

/* Sleep (via zmq_poll with no items) until the timers say something is due,
 * then execute. */
static void run_timers_once (void *timers)
{
    long t = zmq_timers_timeout (timers);
    CHECK (t >= -1, "timers_timeout sane");
    if (t > 0)
        CHECK (zmq_poll (NULL, 0, t) == 0, "poll sleep until timer");
    CHECK_OK (zmq_timers_execute (timers), "timers_execute");
}

static void test_timers (void)
{
    void *timers = zmq_timers_new ();
    CHECK (timers != NULL, "timers_new");
    CHECK (zmq_timers_timeout (timers) == -1, "no timers -> timeout -1");
    CHECK (zmq_timers_execute (timers) == 0, "execute with no timers");

    timer_log_t a = {0, -1}, b = {0, -1};
    CHECK_ERR (zmq_timers_add (timers, 10, NULL, NULL), EFAULT,
               "timers_add NULL handler -> EFAULT");
    int ida = zmq_timers_add (timers, 100, on_timer, &a);
    CHECK (ida >= 0, "timers_add 100 ms");
    int idb = zmq_timers_add (timers, 5000, on_timer, &b);
    CHECK (idb >= 0 && idb != ida, "timers_add 5000 ms, distinct id");

    long t = zmq_timers_timeout (timers);
    CHECK (t > 0 && t <= 100, "timeout is at most the shortest interval");
    CHECK_OK (zmq_timers_execute (timers), "execute before due");
    CHECK (a.calls == 0, "timer not fired before its interval");

    int64_t t0 = tu_now_ms ();
    while (a.calls == 0) {
        CHECK (tu_now_ms () - t0 < TU_TIMEOUT_MS, "timer fires in time");
        run_timers_once (timers);
    }
    int64_t elapsed = tu_now_ms () - t0;
    CHECK (elapsed >= 80, "timer fired no earlier than its interval");
    CHECK (a.calls == 1 && a.last_id == ida, "handler gets its timer id");
    CHECK (b.calls == 0, "long timer not fired");

    /* repeating: fires again after another interval */
    t0 = tu_now_ms ();
    while (a.calls == 1) {
        CHECK (tu_now_ms () - t0 < TU_TIMEOUT_MS, "timer repeats");
        run_timers_once (timers);
    }
    CHECK (a.calls == 2, "timer is periodic");

    /* set_interval / reset */
    CHECK_OK (zmq_timers_set_interval (timers, ida, 50), "set_interval");
    CHECK_OK (zmq_timers_reset (timers, ida), "reset");
    t = zmq_timers_timeout (timers);
    CHECK (t >= 0 && t <= 50, "timeout follows the new interval");

    /* cancel */
    CHECK_OK (zmq_timers_cancel (timers, ida), "cancel");
    CHECK_ERR (zmq_timers_cancel (timers, ida), EINVAL,
               "cancel twice -> EINVAL");
    CHECK_ERR (zmq_timers_cancel (timers, 99999), EINVAL,
               "cancel unknown id -> EINVAL");
    CHECK_ERR (zmq_timers_reset (timers, 99999), EINVAL,
               "reset unknown id -> EINVAL");
    CHECK_ERR (zmq_timers_set_interval (timers, 99999, 5), EINVAL,
               "set_interval unknown id -> EINVAL");
    t = zmq_timers_timeout (timers);
    CHECK (t > 100, "cancelled timer no longer counts");
    tu_sleep_ms (60);
    CHECK_OK (zmq_timers_execute (timers), "execute");
    CHECK (a.calls == 2, "cancelled timer does not fire");

    CHECK_OK (zmq_timers_cancel (timers, idb), "cancel b");
    CHECK (zmq_timers_timeout (timers) == -1, "all cancelled -> -1");

    CHECK_OK (zmq_timers_destroy (&timers), "timers_destroy");
    CHECK (timers == NULL, "timers_destroy clears the pointer");
    CHECK_ERR (zmq_timers_destroy (&timers), EFAULT,
               "timers_destroy of NULL -> EFAULT");
}

static void test_stopwatch (void)
{
    void *w = zmq_stopwatch_start ();
    CHECK (w != NULL, "stopwatch_start");
    tu_sleep_ms (30);
    unsigned long mid = zmq_stopwatch_intermediate (w);
    CHECK (mid >= 25000, "intermediate >= 25 ms in microseconds");
    CHECK (mid < 10000000, "intermediate is sane");
    tu_sleep_ms (10);
    unsigned long end = zmq_stopwatch_stop (w);
    CHECK (end >= mid + 5000, "stop is later than intermediate");
    CHECK (end < 10000000, "stop is sane");
    printf ("stopwatch: intermediate %lu us, stop %lu us\n", mid, end);
}

static void test_has (void)
{
    CHECK (zmq_has ("ipc") == 1, "zmq_has(ipc)");
    CHECK (zmq_has ("no-such-capability") == 0, "zmq_has(unknown) == 0");
}

int main (void)
{
    tu_init (50);
    test_version ();
    printf ("zmq_version: OK\n");
    test_strerror ();
    printf ("zmq_strerror: OK\n");
    test_z85 ();
    printf ("z85: OK\n");
    test_atomic_counter ();
    printf ("atomic counter: OK\n");
    test_timers ();
    printf ("timers: OK\n");
    test_stopwatch ();
    printf ("stopwatch: OK\n");
    test_has ();
    printf ("zmq_has: OK\n");
    return 0;
}
