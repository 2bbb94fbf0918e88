/*
 * testutil.h - tiny helpers shared by the C test programs in ctests/.
 *
 * Every check names itself; on failure the program prints the check name,
 * the failed expression, file:line and errno, then exits with status 1.
 * tu_init() arms a watchdog alarm so that a hung test dies on its own even
 * when it is run outside ctest.
 */
#ifndef ZT_TESTUTIL_H
#define ZT_TESTUTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <zmq.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Generous timeout used for every blocking operation, in milliseconds. */
#define TU_TIMEOUT_MS 10000

#if defined(__GNUC__)
#define TU_UNUSED __attribute__ ((unused))
#else
#define TU_UNUSED
#endif

static TU_UNUSED void tu_fail (const char *file, int line, const char *name,
                               const char *expr, int err)
{
    fprintf (stderr, "%s:%d: CHECK FAILED [%s]: %s (errno=%d: %s)\n", file,
             line, name, expr, err, zmq_strerror (err));
    fflush (stderr);
    exit (1);
}

/* CHECK(cond, "name"): cond must be true. */
#define CHECK(cond, name)                                                      \
    do {                                                                       \
        if (!(cond))                                                           \
            tu_fail (__FILE__, __LINE__, (name), #cond, errno);                \
    } while (0)

/* CHECK_OK(expr, "name"): expr must not return -1. */
#define CHECK_OK(expr, name)                                                   \
    do {                                                                       \
        long tu_rc_ = (long) (expr);                                           \
        int tu_saved_errno_ = errno;                                           \
        if (tu_rc_ == -1)                                                      \
            tu_fail (__FILE__, __LINE__, (name), #expr " != -1",               \
                     tu_saved_errno_);                                         \
    } while (0)

/* CHECK_ERR(expr, ERRNO, "name"): expr must return -1 with errno == ERRNO. */
#define CHECK_ERR(expr, err, name)                                             \
    do {                                                                       \
        errno = 0;                                                             \
        long tu_rc_ = (long) (expr);                                           \
        int tu_saved_errno_ = errno;                                           \
        if (tu_rc_ != -1)                                                      \
            tu_fail (__FILE__, __LINE__, (name),                               \
                     #expr " should fail with " #err " but succeeded",         \
                     tu_saved_errno_);                                         \
        if (tu_saved_errno_ != (err))                                          \
            tu_fail (__FILE__, __LINE__, (name),                               \
                     #expr " should fail with " #err, tu_saved_errno_);        \
        if (zmq_errno () != (err))                                             \
            tu_fail (__FILE__, __LINE__, (name),                               \
                     "zmq_errno() after " #expr " should be " #err,            \
                     zmq_errno ());                                            \
    } while (0)

/* CHECK_NULL_ERR(expr, ERRNO, "name"): pointer expr must be NULL + errno. */
#define CHECK_NULL_ERR(expr, err, name)                                        \
    do {                                                                       \
        errno = 0;                                                             \
        const void *tu_p_ = (const void *) (expr);                             \
        int tu_saved_errno_ = errno;                                           \
        if (tu_p_ != NULL)                                                     \
            tu_fail (__FILE__, __LINE__, (name),                               \
                     #expr " should return NULL", tu_saved_errno_);            \
        if (tu_saved_errno_ != (err))                                          \
            tu_fail (__FILE__, __LINE__, (name),                               \
                     #expr " should fail with " #err, tu_saved_errno_);        \
    } while (0)

/* ---- time ---------------------------------------------------------------- */

static TU_UNUSED int64_t tu_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static TU_UNUSED void tu_sleep_ms (int ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long) (ms % 1000) * 1000000L;
    while (nanosleep (&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* ---- process setup -------------------------------------------------------- */

/* Arm a watchdog: SIGALRM's default action kills the process (non-zero). */
static TU_UNUSED void tu_init (int watchdog_seconds)
{
    setvbuf (stdout, NULL, _IONBF, 0);
    alarm ((unsigned) (watchdog_seconds > 0 ? watchdog_seconds : 50));
}

/* ---- sockets ---------------------------------------------------------------- */

static TU_UNUSED void tu_set_int (void *s, int opt, int v, const char *name)
{
    CHECK_OK (zmq_setsockopt (s, opt, &v, sizeof v), name);
}

/* RCVTIMEO/SNDTIMEO = ms, LINGER = 0 so that closing never blocks. */
static TU_UNUSED void tu_set_timeouts (void *s, int ms)
{
    tu_set_int (s, ZMQ_RCVTIMEO, ms, "setsockopt RCVTIMEO");
    tu_set_int (s, ZMQ_SNDTIMEO, ms, "setsockopt SNDTIMEO");
    tu_set_int (s, ZMQ_LINGER, 0, "setsockopt LINGER");
}

/* Create a socket with default test timeouts applied. */
static TU_UNUSED void *tu_socket (void *ctx, int type)
{
    void *s = zmq_socket (ctx, type);
    CHECK (s != NULL, "zmq_socket");
    tu_set_timeouts (s, TU_TIMEOUT_MS);
    return s;
}

static TU_UNUSED void tu_last_endpoint (void *s, char *buf, size_t len)
{
    size_t l = len;
    CHECK_OK (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, buf, &l),
              "getsockopt LAST_ENDPOINT");
    CHECK (l >= 1 && l <= len && buf[l - 1] == '\0',
           "LAST_ENDPOINT is NUL terminated");
}

/* Produce a fresh, unique endpoint name (not yet bound) for a transport.
 * For tcp this is the wildcard "tcp://127.0.0.1:*". */
static TU_UNUSED void tu_make_endpoint (const char *transport, char *buf,
                                        size_t len)
{
    static int counter = 0;
    int n = __sync_add_and_fetch (&counter, 1);
    if (strcmp (transport, "tcp") == 0)
        snprintf (buf, len, "tcp://127.0.0.1:*");
    else if (strcmp (transport, "ipc") == 0)
        snprintf (buf, len, "ipc:///tmp/zt-%d-%d", (int) getpid (), n);
    else if (strcmp (transport, "inproc") == 0)
        snprintf (buf, len, "inproc://zt-%d-%d", (int) getpid (), n);
    else {
        fprintf (stderr, "unknown transport %s\n", transport);
        exit (2);
    }
}

/* Bind s to a fresh endpoint of the transport; the actual (connectable)
 * endpoint is written to buf. */
static TU_UNUSED void tu_bind_ephemeral (void *s, const char *transport,
                                         char *buf, size_t len)
{
    char ep[256];
    tu_make_endpoint (transport, ep, sizeof ep);
    CHECK_OK (zmq_bind (s, ep), "zmq_bind ephemeral");
    tu_last_endpoint (s, buf, len);
}

/* Remove the socket file an ipc endpoint may leave behind. */
static TU_UNUSED void tu_cleanup_endpoint (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0 && endpoint[6] != '@')
        unlink (endpoint + 6);
}

/* Send a string (without NUL), flags as for zmq_send. */
static TU_UNUSED void tu_send_str (void *s, const char *str, int flags,
                                   const char *name)
{
    int rc = zmq_send (s, str, strlen (str), flags);
    CHECK (rc == (int) strlen (str), name);
}

/* Receive one frame as a NUL-terminated string into buf (truncated frames
 * are a failure). Returns the length. */
static TU_UNUSED int tu_recv_str (void *s, char *buf, size_t len,
                                  const char *name)
{
    int rc = zmq_recv (s, buf, len - 1, 0);
    CHECK (rc != -1, name);
    CHECK ((size_t) rc < len, name);
    buf[rc] = '\0';
    return rc;
}

/* Receive one frame and compare it with the expected string. */
static TU_UNUSED void tu_recv_expect (void *s, const char *expected,
                                      const char *name)
{
    char buf[512];
    tu_recv_str (s, buf, sizeof buf, name);
    if (strcmp (buf, expected) != 0) {
        fprintf (stderr, "[%s] got \"%s\", expected \"%s\"\n", name, buf,
                 expected);
    }
    CHECK (strcmp (buf, expected) == 0, name);
}

/* Receive a full message (all parts) into a malloc'ed array of msgs.
 * Returns the number of parts. Caller closes each msg and frees. */
static TU_UNUSED int tu_recv_multipart (void *s, zmq_msg_t *parts,
                                        int max_parts, const char *name)
{
    int n = 0;
    while (1) {
        CHECK (n < max_parts, name);
        CHECK_OK (zmq_msg_init (&parts[n]), name);
        CHECK_OK (zmq_msg_recv (&parts[n], s, 0), name);
        int more = zmq_msg_more (&parts[n]);
        n++;
        if (!more)
            break;
    }
    return n;
}

/* ---- threads ------------------------------------------------------------- */

static TU_UNUSED pthread_t tu_thread_start (void *(*fn) (void *), void *arg)
{
    pthread_t t;
    int rc = pthread_create (&t, NULL, fn, arg);
    CHECK (rc == 0, "pthread_create");
    return t;
}

static TU_UNUSED void tu_thread_join (pthread_t t)
{
    int rc = pthread_join (t, NULL);
    CHECK (rc == 0, "pthread_join");
}

#endif /* ZT_TESTUTIL_H */
