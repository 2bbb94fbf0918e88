/*
 * ps_util.h - helpers shared by the publish-subscribe and proxy tests.
 *
 * Builds on ../testutil.h (CHECK macros, tu_socket, tu_bind_ephemeral...).
 * The main idea here is joining a subscriber without sleeping: the publisher
 * keeps sending a probe until the subscriber has seen one, then sends a fence
 * message, and the subscriber drains everything up to the fence. Since one
 * publisher-to-subscriber pipe is FIFO, nothing of the sync phase can arrive
 * after the fence.
 */
#ifndef PS_UTIL_H
#define PS_UTIL_H

#include "../testutil.h"

#include <stdint.h>

/* Atomic flag helpers for cross-thread stop/ready signals. */
#define PS_LOAD(p) __atomic_load_n ((p), __ATOMIC_SEQ_CST)
#define PS_STORE(p, v) __atomic_store_n ((p), (v), __ATOMIC_SEQ_CST)
#define PS_INC(p) __atomic_add_fetch ((p), 1, __ATOMIC_SEQ_CST)

/* True when the linked library reports at least major.minor.patch. */
static TU_UNUSED int ps_version_at_least (int major, int minor, int patch)
{
    int a = 0, b = 0, c = 0;
    zmq_version (&a, &b, &c);
    if (a != major)
        return a > major;
    if (b != minor)
        return b > minor;
    return c >= patch;
}

/* Wait up to ms for POLLIN on s; returns 1 when readable, 0 on timeout. */
static TU_UNUSED int ps_wait_in (void *s, int ms)
{
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    int rc = zmq_poll (&item, 1, ms);
    CHECK (rc >= 0, "zmq_poll");
    return rc > 0 && (item.revents & ZMQ_POLLIN);
}

/* Negative check: nothing may become readable on s within ms. */
static TU_UNUSED void ps_expect_silence (void *s, int ms, const char *name)
{
    int64_t end = tu_now_ms () + ms;
    int64_t left;
    while ((left = end - tu_now_ms ()) > 0) {
        if (ps_wait_in (s, (int) left)) {
            char buf[256];
            int n = zmq_recv (s, buf, sizeof buf - 1, ZMQ_DONTWAIT);
            if (n >= 0) {
                buf[n < (int) sizeof buf - 1 ? n : (int) sizeof buf - 1] = 0;
                fprintf (stderr, "[%s] unexpected message \"%s\"\n", name,
                         buf);
            }
            CHECK (0, name);
        }
    }
}

/* Send a probe (DONTWAIT) from pub until sub receives a message equal to
 * probe, within TU_TIMEOUT_MS. Then send fence and drain sub up to (and
 * including) fence. Any other message received during the sync is a failure.
 * pub is PUB or XPUB; sub must be subscribed to a prefix of probe and fence. */
static TU_UNUSED void ps_join (void *pub, void *sub, const char *probe,
                               const char *fence)
{
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    int got = 0;
    char buf[256];
    while (!got) {
        CHECK (tu_now_ms () < deadline, "subscriber joins within timeout");
        int rc = zmq_send (pub, probe, strlen (probe), ZMQ_DONTWAIT);
        CHECK (rc == (int) strlen (probe) || (rc == -1 && errno == EAGAIN),
               "probe send");
        if (ps_wait_in (sub, 20)) {
            tu_recv_str (sub, buf, sizeof buf, "receive probe");
            CHECK (strcmp (buf, probe) == 0, "only probes during the join");
            got = 1;
        }
    }
    tu_send_str (pub, fence, 0, "send fence");
    while (1) {
        tu_recv_str (sub, buf, sizeof buf, "drain up to the fence");
        if (strcmp (buf, fence) == 0)
            break;
        CHECK (strcmp (buf, probe) == 0, "only probes before the fence");
    }
}

/* Resident set size of this process in KiB (from /proc/self/status). */
static TU_UNUSED long ps_rss_kb (void)
{
    FILE *f = fopen ("/proc/self/status", "r");
    CHECK (f != NULL, "open /proc/self/status");
    char line[256];
    long kb = -1;
    while (fgets (line, sizeof line, f)) {
        if (strncmp (line, "VmRSS:", 6) == 0) {
            kb = strtol (line + 6, NULL, 10);
            break;
        }
    }
    fclose (f);
    CHECK (kb > 0, "VmRSS found");
    return kb;
}

/* Receive one frame into buf (NUL-terminated); returns its length and the
 * more flag through *more (may be NULL). */
static TU_UNUSED int ps_recv_part (void *s, char *buf, size_t len, int *more,
                                   const char *name)
{
    int n = tu_recv_str (s, buf, len, name);
    if (more) {
        int m = 0;
        size_t ml = sizeof m;
        CHECK_OK (zmq_getsockopt (s, ZMQ_RCVMORE, &m, &ml), name);
        *more = m;
    }
    return n;
}

/* Receive exactly one frame equal to the given bytes (binary safe). */
static TU_UNUSED void ps_recv_bytes (void *s, const void *data, size_t size,
                                     const char *name)
{
    char buf[512];
    CHECK (size < sizeof buf, name);
    int n = zmq_recv (s, buf, sizeof buf, 0);
    CHECK (n != -1, name);
    if ((size_t) n != size || memcmp (buf, data, size) != 0) {
        fprintf (stderr, "[%s] got %d bytes, expected %zu\n", name, n, size);
        CHECK (0, name);
    }
}

/* Close a socket with a check. */
static TU_UNUSED void ps_close (void *s)
{
    CHECK_OK (zmq_close (s), "zmq_close");
}

#endif /* PS_UTIL_H */
