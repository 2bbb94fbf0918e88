/*
 * peer.c - a small scriptable ZeroMQ peer used by the interop tests.
 *
 * It is compiled and linked against the libzmq UNDER TEST (our Rust
 * implementation, or any stand-in) and talks to real libzmq (pyzmq) in the
 * pytest process.
 *
 * Usage:
 *   peer TYPE bind|connect ENDPOINT [--option=value ...] [ACTION ...]
 *
 * TYPE: PAIR PUB SUB REQ REP DEALER ROUTER PULL PUSH XPUB XSUB
 *
 * Options (applied before bind/connect):
 *   --routing-id=TEXT      ZMQ_ROUTING_ID
 *   --subscribe=PREFIX     ZMQ_SUBSCRIBE (repeatable; "" allowed)
 *   --maxmsgsize=N         ZMQ_MAXMSGSIZE
 *   --timeout=MS           recv/send/stdin timeout (default 10000)
 *   --linger=MS            ZMQ_LINGER (default 5000)
 *   --setint=OPT:VAL       zmq_setsockopt with an int (repeatable); OPT is a
 *                          name without the ZMQ_ prefix (see int_option) or
 *                          a number
 *   --before=ACTION        run ACTION (any action below, e.g.
 *                          --before=send=x:0161) before bind/connect
 *                          (repeatable, run in order)
 *
 * Actions (executed in order after bind/connect):
 *   send=SPECS       send one multipart message
 *   expect=SPECS     receive one multipart message and compare it
 *   recv             receive one multipart message (any content)
 *   skip=SPECS       receive and drop messages while they match SPECS; the
 *                    first non-matching message is kept for the next
 *                    expect/recv/echo
 *   echo=N           N times: receive a message and send it back unchanged
 *   burst=N:SPECS    send the multipart message SPECS N times, as fast as it goes
 *   pubsync=SPECS    send SPECS every 20 ms (non-blocking) until a line
 *                    arrives on stdin (used for PUB slow-joiner sync)
 *   until=SPECS      receive and drop messages until one matches SPECS (that
 *                    one becomes the last received message)
 *   print            receive one message and print "MSG HEX,HEX,..." (one
 *                    lowercase hex string per frame; empty frame = "")
 *   expect-none=MS   fail if any message arrives within MS milliseconds
 *   sub=TEXT         ZMQ_SUBSCRIBE TEXT ("sub=" subscribes to everything)
 *   unsub=TEXT       ZMQ_UNSUBSCRIBE TEXT
 *   setint=OPT:VAL   as --setint, at this point of the script
 *   bind=EP          zmq_bind another endpoint
 *   connect=EP       zmq_connect another endpoint
 *   disconnect=EP    zmq_disconnect
 *   unbind=EP        zmq_unbind
 *   say=TEXT         print "TEXT" on stdout
 *   wait             wait for one line on stdin
 *
 * SPECS is a comma-separated list of frames:
 *   e            empty frame
 *   s:TEXT       literal text (no commas)
 *   x:HEX        bytes in hex
 *   p:N:SEED     N bytes of the deterministic pattern (see pattern_byte)
 *   @I           frame I of the last received message
 *   *            (expect/skip only) any frame
 *
 * Stdout protocol (line-buffered):
 *   LIB <path of the object providing zmq_socket, via dladdr>
 *   VERSION <major.minor.patch from zmq_version>
 *   ENDPOINT <ZMQ_LAST_ENDPOINT after bind/connect>
 *   ... say lines ...
 *   DONE
 * Failures go to stderr as "FAIL: ..." and the exit code is 1.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_FRAMES 64
#define MAX_BEFORE 32

typedef struct {
    size_t n;
    zmq_msg_t frames[MAX_FRAMES];
} multipart_t;

static void *g_ctx;
static void *g_sock;
static int g_timeout = 10000;
static multipart_t g_last;
static int g_have_last;
static multipart_t g_pending;
static int g_have_pending;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    fflush(stdout);
    /* Do not wait for linger: the test has failed anyway. */
    _exit(1);
}

static unsigned char pattern_byte(uint64_t i, uint64_t seed)
{
    return (unsigned char)((i + (i >> 8) * 7 + (i >> 16) * 13 + seed * 101) & 0xff);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void mp_close(multipart_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        zmq_msg_close(&m->frames[i]);
    m->n = 0;
}

/* Frame spec parsed into a kind plus owned bytes. */
typedef struct {
    enum { F_BYTES, F_ANY, F_REF } kind;
    unsigned char *data;
    size_t size;
    size_t ref;
} spec_t;

static size_t parse_specs(const char *text, spec_t *out)
{
    char *copy = strdup(text);
    size_t n = 0;
    /* strtok would swallow empty items, so split by hand. */
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (n >= MAX_FRAMES) fail("too many frames in spec '%s'", text);
        spec_t *s = &out[n++];
        memset(s, 0, sizeof *s);
        if (strcmp(p, "e") == 0) {
            s->kind = F_BYTES;
        } else if (strcmp(p, "*") == 0) {
            s->kind = F_ANY;
        } else if (p[0] == '@') {
            s->kind = F_REF;
            s->ref = strtoul(p + 1, NULL, 10);
        } else if (strncmp(p, "s:", 2) == 0) {
            s->kind = F_BYTES;
            s->size = strlen(p + 2);
            s->data = (unsigned char *)strdup(p + 2);
        } else if (strncmp(p, "x:", 2) == 0) {
            size_t len = strlen(p + 2);
            if (len % 2) fail("odd hex length in '%s'", p);
            s->kind = F_BYTES;
            s->size = len / 2;
            s->data = malloc(s->size + 1);
            for (size_t i = 0; i < s->size; i++) {
                int hi = hexval(p[2 + 2 * i]), lo = hexval(p[3 + 2 * i]);
                if (hi < 0 || lo < 0) fail("bad hex in '%s'", p);
                s->data[i] = (unsigned char)(hi * 16 + lo);
            }
        } else if (strncmp(p, "p:", 2) == 0) {
            char *end;
            uint64_t len = strtoull(p + 2, &end, 10);
            if (*end != ':') fail("bad pattern spec '%s'", p);
            uint64_t seed = strtoull(end + 1, NULL, 10);
            s->kind = F_BYTES;
            s->size = len;
            s->data = malloc(len ? len : 1);
            if (!s->data) fail("out of memory for '%s'", p);
            for (uint64_t i = 0; i < len; i++)
                s->data[i] = pattern_byte(i, seed);
        } else {
            fail("unknown frame spec '%s'", p);
        }
        if (!comma) break;
        p = comma + 1;
    }
    free(copy);
    return n;
}

static void free_specs(spec_t *specs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(specs[i].data);
}

static void resolve_ref(const spec_t *s, const void **data, size_t *size)
{
    if (!g_have_last || s->ref >= g_last.n)
        fail("reference @%zu but last message has %zu frames", s->ref,
             g_have_last ? g_last.n : 0);
    zmq_msg_t *m = &g_last.frames[s->ref];
    *data = zmq_msg_data(m);
    *size = zmq_msg_size(m);
}

static void do_send(const char *text)
{
    spec_t specs[MAX_FRAMES];
    size_t n = parse_specs(text, specs);
    for (size_t i = 0; i < n; i++) {
        const void *data;
        size_t size;
        if (specs[i].kind == F_ANY) fail("'*' not allowed in send");
        if (specs[i].kind == F_REF)
            resolve_ref(&specs[i], &data, &size);
        else {
            data = specs[i].data;
            size = specs[i].size;
        }
        zmq_msg_t msg;
        if (zmq_msg_init_size(&msg, size) != 0) fail("zmq_msg_init_size: %s", zmq_strerror(zmq_errno()));
        if (size) memcpy(zmq_msg_data(&msg), data, size);
        int flags = (i + 1 < n) ? ZMQ_SNDMORE : 0;
        if (zmq_msg_send(&msg, g_sock, flags) < 0)
            fail("send frame %zu of '%.80s': %s", i, text, zmq_strerror(zmq_errno()));
    }
    free_specs(specs, n);
}

static void do_burst(const char *arg)
{
    char *rest;
    long n = strtol(arg, &rest, 10);
    if (n < 0 || *rest != ':') fail("burst: expected N:SPECS, got '%s'", arg);
    for (long i = 0; i < n; i++)
        do_send(rest + 1);
}

static void recv_multipart(multipart_t *out, const char *what)
{
    out->n = 0;
    int more = 1;
    while (more) {
        if (out->n >= MAX_FRAMES) fail("too many frames received");
        zmq_msg_t *m = &out->frames[out->n];
        zmq_msg_init(m);
        if (zmq_msg_recv(m, g_sock, 0) < 0)
            fail("recv (%s) frame %zu: %s", what, out->n, zmq_strerror(zmq_errno()));
        out->n++;
        more = zmq_msg_more(m);
    }
}

/* Receive the next message into g_last (using a pending one if any). */
static void next_message(const char *what)
{
    if (g_have_last) mp_close(&g_last);
    if (g_have_pending) {
        g_last = g_pending;
        g_have_pending = 0;
    } else {
        recv_multipart(&g_last, what);
    }
    g_have_last = 1;
}

static void describe(const multipart_t *m)
{
    fprintf(stderr, "  received %zu frame(s):\n", m->n);
    for (size_t i = 0; i < m->n; i++) {
        zmq_msg_t *f = (zmq_msg_t *)&m->frames[i];
        size_t size = zmq_msg_size(f);
        const unsigned char *d = zmq_msg_data(f);
        fprintf(stderr, "    [%zu] %zu bytes:", i, size);
        for (size_t j = 0; j < size && j < 48; j++) fprintf(stderr, " %02x", d[j]);
        if (size > 48) fprintf(stderr, " ...");
        fprintf(stderr, "\n");
    }
}

/* Returns NULL when it matches, or a static description of the mismatch.
 * References (@I) compare against the message received before this one,
 * which the caller passes as `prev`. */
static const char *match(const multipart_t *m, const spec_t *specs, size_t n,
                         const multipart_t *prev)
{
    static char why[256];
    if (m->n != n) {
        snprintf(why, sizeof why, "expected %zu frames, got %zu", n, m->n);
        return why;
    }
    for (size_t i = 0; i < n; i++) {
        zmq_msg_t *f = (zmq_msg_t *)&m->frames[i];
        const void *data;
        size_t size;
        if (specs[i].kind == F_ANY) continue;
        if (specs[i].kind == F_REF) {
            if (!prev || specs[i].ref >= prev->n) {
                snprintf(why, sizeof why, "bad reference @%zu", specs[i].ref);
                return why;
            }
            data = zmq_msg_data((zmq_msg_t *)&prev->frames[specs[i].ref]);
            size = zmq_msg_size((zmq_msg_t *)&prev->frames[specs[i].ref]);
        } else {
            data = specs[i].data;
            size = specs[i].size;
        }
        if (zmq_msg_size(f) != size) {
            snprintf(why, sizeof why, "frame %zu: expected %zu bytes, got %zu", i, size,
                     zmq_msg_size(f));
            return why;
        }
        if (size && memcmp(zmq_msg_data(f), data, size) != 0) {
            const unsigned char *a = zmq_msg_data(f), *b = data;
            size_t k = 0;
            while (a[k] == b[k]) k++;
            snprintf(why, sizeof why, "frame %zu: content differs at offset %zu", i, k);
            return why;
        }
    }
    return NULL;
}

static void do_expect(const char *text)
{
    spec_t specs[MAX_FRAMES];
    size_t n = parse_specs(text, specs);
    multipart_t prev;
    int have_prev = g_have_last;
    if (have_prev) {
        prev = g_last;
        g_have_last = 0; /* keep prev frames alive for @I comparisons */
    }
    next_message(text);
    const char *why = match(&g_last, specs, n, have_prev ? &prev : NULL);
    if (why) {
        describe(&g_last);
        fail("expect '%.120s': %s", text, why);
    }
    if (have_prev) mp_close(&prev);
    free_specs(specs, n);
}

static void do_skip(const char *text)
{
    spec_t specs[MAX_FRAMES];
    size_t n = parse_specs(text, specs);
    if (g_have_pending) fail("skip with a pending message");
    for (;;) {
        multipart_t m;
        recv_multipart(&m, text);
        if (match(&m, specs, n, NULL) == NULL) {
            mp_close(&m);
            continue;
        }
        g_pending = m;
        g_have_pending = 1;
        break;
    }
    free_specs(specs, n);
}

static void do_echo(int count)
{
    for (int k = 0; k < count; k++) {
        next_message("echo");
        for (size_t i = 0; i < g_last.n; i++) {
            zmq_msg_t copy;
            zmq_msg_init(&copy);
            zmq_msg_copy(&copy, &g_last.frames[i]);
            if (zmq_msg_send(&copy, g_sock, i + 1 < g_last.n ? ZMQ_SNDMORE : 0) < 0)
                fail("echo send: %s", zmq_strerror(zmq_errno()));
        }
    }
}

/* Read one line from stdin with a timeout; returns 0 on success. */
static int read_line(int timeout_ms)
{
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0) fail("poll(stdin): %s", strerror(errno));
    if (rc == 0) return -1;
    char c;
    for (;;) {
        ssize_t r = read(0, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) fail("stdin closed while waiting for a line");
        if (c == '\n') return 0;
    }
}

static void do_pubsync(const char *text)
{
    int waited = 0;
    for (;;) {
        spec_t specs[MAX_FRAMES];
        size_t n = parse_specs(text, specs);
        for (size_t i = 0; i < n; i++) {
            if (zmq_send(g_sock, specs[i].data, specs[i].size,
                         ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0)) < 0
                && zmq_errno() != EAGAIN)
                fail("pubsync send: %s", zmq_strerror(zmq_errno()));
        }
        free_specs(specs, n);
        if (read_line(20) == 0) return;
        waited += 20;
        if (waited > g_timeout) fail("pubsync: no go-ahead on stdin within %d ms", g_timeout);
    }
}

/* Receive and drop messages until one matches; it becomes g_last. */
static void do_until(const char *text)
{
    spec_t specs[MAX_FRAMES];
    size_t n = parse_specs(text, specs);
    for (;;) {
        next_message(text);
        if (match(&g_last, specs, n, NULL) == NULL) break;
    }
    free_specs(specs, n);
}

static void do_print(void)
{
    next_message("print");
    printf("MSG ");
    for (size_t i = 0; i < g_last.n; i++) {
        const unsigned char *d = zmq_msg_data(&g_last.frames[i]);
        size_t size = zmq_msg_size(&g_last.frames[i]);
        if (i) putchar(',');
        for (size_t j = 0; j < size; j++) printf("%02x", d[j]);
    }
    printf("\n");
}

static void set_rcvtimeo(int ms)
{
    if (zmq_setsockopt(g_sock, ZMQ_RCVTIMEO, &ms, sizeof ms) != 0)
        fail("zmq_setsockopt(ZMQ_RCVTIMEO): %s", zmq_strerror(zmq_errno()));
}

static void do_expect_none(int ms)
{
    if (g_have_pending) {
        describe(&g_pending);
        fail("expect-none: a message is already pending");
    }
    set_rcvtimeo(ms);
    multipart_t got;
    got.n = 0;
    zmq_msg_init(&got.frames[0]);
    int rc = zmq_msg_recv(&got.frames[0], g_sock, 0);
    int err = zmq_errno();
    if (rc >= 0) {
        got.n = 1;
        /* Collect the remaining frames for the diagnostic. */
        while (zmq_msg_more(&got.frames[got.n - 1]) && got.n < MAX_FRAMES) {
            zmq_msg_init(&got.frames[got.n]);
            if (zmq_msg_recv(&got.frames[got.n], g_sock, 0) < 0) break;
            got.n++;
        }
        describe(&got);
        fail("expect-none=%d: a message arrived", ms);
    }
    zmq_msg_close(&got.frames[0]);
    if (err != EAGAIN) fail("expect-none recv: %s", zmq_strerror(err));
    set_rcvtimeo(g_timeout);
}

static int int_option(const char *name)
{
    static const struct { const char *n; int v; } opts[] = {
        {"XPUB_VERBOSE", ZMQ_XPUB_VERBOSE},
        {"XPUB_VERBOSER", ZMQ_XPUB_VERBOSER},
        {"XPUB_NODROP", ZMQ_XPUB_NODROP},
        {"XPUB_MANUAL", ZMQ_XPUB_MANUAL},
        {"INVERT_MATCHING", ZMQ_INVERT_MATCHING},
        {"CONFLATE", ZMQ_CONFLATE},
        {"SNDHWM", ZMQ_SNDHWM},
        {"RCVHWM", ZMQ_RCVHWM},
        {"LINGER", ZMQ_LINGER},
        {"RECONNECT_IVL", ZMQ_RECONNECT_IVL},
        {"RECONNECT_IVL_MAX", ZMQ_RECONNECT_IVL_MAX},
        {"IMMEDIATE", ZMQ_IMMEDIATE},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (strcmp(opts[i].n, name) == 0) return opts[i].v;
    char *end;
    long v = strtol(name, &end, 10);
    if (*name && !*end) return (int)v;
    fail("unknown integer option '%s'", name);
    return -1;
}

static void setopt(int opt, const void *val, size_t len, const char *what);

static void do_setint(const char *arg)
{
    const char *colon = strchr(arg, ':');
    if (!colon) fail("setint needs OPT:VAL, got '%s'", arg);
    char name[64];
    size_t len = (size_t)(colon - arg);
    if (len >= sizeof name) fail("option name too long in '%s'", arg);
    memcpy(name, arg, len);
    name[len] = '\0';
    int v = atoi(colon + 1);
    setopt(int_option(name), &v, sizeof v, arg);
}

static void endpoint_op(const char *what, int (*fn)(void *, const char *), const char *ep)
{
    if (fn(g_sock, ep) != 0) fail("zmq_%s(%s): %s", what, ep, zmq_strerror(zmq_errno()));
}

static int socket_type(const char *name)
{
    static const struct { const char *n; int t; } types[] = {
        {"PAIR", ZMQ_PAIR},     {"PUB", ZMQ_PUB},       {"SUB", ZMQ_SUB},
        {"REQ", ZMQ_REQ},       {"REP", ZMQ_REP},       {"DEALER", ZMQ_DEALER},
        {"ROUTER", ZMQ_ROUTER}, {"PULL", ZMQ_PULL},     {"PUSH", ZMQ_PUSH},
        {"XPUB", ZMQ_XPUB},     {"XSUB", ZMQ_XSUB},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].n, name) == 0) return types[i].t;
    fail("unknown socket type '%s'", name);
    return -1;
}

static void setopt(int opt, const void *val, size_t len, const char *what)
{
    if (zmq_setsockopt(g_sock, opt, val, len) != 0)
        fail("zmq_setsockopt(%s): %s", what, zmq_strerror(zmq_errno()));
}

static void run_action(const char *a)
{
    const char *eq = strchr(a, '=');
    const char *arg = eq ? eq + 1 : "";
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
#define IS(name) (nlen == strlen(name) && strncmp(a, name, nlen) == 0)
    if (IS("send"))
        do_send(arg);
    else if (IS("expect"))
        do_expect(arg);
    else if (IS("recv"))
        next_message("recv");
    else if (IS("skip"))
        do_skip(arg);
    else if (IS("until"))
        do_until(arg);
    else if (IS("print"))
        do_print();
    else if (IS("expect-none"))
        do_expect_none(atoi(arg));
    else if (IS("echo"))
        do_echo(atoi(arg));
    else if (IS("burst"))
        do_burst(arg);
    else if (IS("pubsync"))
        do_pubsync(arg);
    else if (IS("sub"))
        setopt(ZMQ_SUBSCRIBE, arg, strlen(arg), "ZMQ_SUBSCRIBE");
    else if (IS("unsub"))
        setopt(ZMQ_UNSUBSCRIBE, arg, strlen(arg), "ZMQ_UNSUBSCRIBE");
    else if (IS("setint"))
        do_setint(arg);
    else if (IS("bind"))
        endpoint_op("bind", zmq_bind, arg);
    else if (IS("connect"))
        endpoint_op("connect", zmq_connect, arg);
    else if (IS("disconnect"))
        endpoint_op("disconnect", zmq_disconnect, arg);
    else if (IS("unbind"))
        endpoint_op("unbind", zmq_unbind, arg);
    else if (IS("say"))
        printf("%s\n", arg);
    else if (IS("wait")) {
        if (read_line(g_timeout) != 0) fail("wait: no line on stdin within %d ms", g_timeout);
    } else
        fail("unknown action '%s'", a);
#undef IS
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Hard upper bound on our lifetime whatever happens. */
    signal(SIGPIPE, SIG_IGN);
    alarm(120);

    /* Prove which library we run on. */
    Dl_info info;
    void *sym = (void *)&zmq_socket;
    if (dladdr(sym, &info) == 0 || !info.dli_fname) fail("dladdr(zmq_socket) failed");
    printf("LIB %s\n", info.dli_fname);
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    printf("VERSION %d.%d.%d\n", major, minor, patch);

    if (argc < 4) {
        fprintf(stderr, "usage: %s TYPE bind|connect ENDPOINT [--opt=val...] [action...]\n", argv[0]);
        return 2;
    }
    int type = socket_type(argv[1]);
    const char *mode = argv[2];
    const char *endpoint = argv[3];

    g_ctx = zmq_ctx_new();
    if (!g_ctx) fail("zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
    g_sock = zmq_socket(g_ctx, type);
    if (!g_sock) fail("zmq_socket: %s", zmq_strerror(zmq_errno()));

    int linger = 5000;
    const char *before[MAX_BEFORE];
    int n_before = 0;
    int i = 4;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        const char *val = eq ? eq + 1 : "";
        if (strncmp(a, "--routing-id=", 13) == 0)
            setopt(ZMQ_ROUTING_ID, val, strlen(val), "ZMQ_ROUTING_ID");
        else if (strncmp(a, "--subscribe=", 12) == 0)
            setopt(ZMQ_SUBSCRIBE, val, strlen(val), "ZMQ_SUBSCRIBE");
        else if (strncmp(a, "--maxmsgsize=", 13) == 0) {
            int64_t v = strtoll(val, NULL, 10);
            setopt(ZMQ_MAXMSGSIZE, &v, sizeof v, "ZMQ_MAXMSGSIZE");
        } else if (strncmp(a, "--timeout=", 10) == 0)
            g_timeout = atoi(val);
        else if (strncmp(a, "--linger=", 9) == 0)
            linger = atoi(val);
        else if (strncmp(a, "--setint=", 9) == 0)
            do_setint(val);
        else if (strncmp(a, "--before=", 9) == 0) {
            if (n_before >= MAX_BEFORE) fail("too many --before options");
            before[n_before++] = val;
        } else
            fail("unknown option '%s'", a);
    }
    setopt(ZMQ_RCVTIMEO, &g_timeout, sizeof g_timeout, "ZMQ_RCVTIMEO");
    setopt(ZMQ_SNDTIMEO, &g_timeout, sizeof g_timeout, "ZMQ_SNDTIMEO");
    setopt(ZMQ_LINGER, &linger, sizeof linger, "ZMQ_LINGER");
    for (int k = 0; k < n_before; k++)
        run_action(before[k]);

    int rc;
    if (strcmp(mode, "bind") == 0)
        rc = zmq_bind(g_sock, endpoint);
    else if (strcmp(mode, "connect") == 0)
        rc = zmq_connect(g_sock, endpoint);
    else
        fail("mode must be bind or connect, not '%s'", mode);
    if (rc != 0) fail("zmq_%s(%s): %s", mode, endpoint, zmq_strerror(zmq_errno()));

    char last[1024];
    size_t last_len = sizeof last;
    if (zmq_getsockopt(g_sock, ZMQ_LAST_ENDPOINT, last, &last_len) != 0)
        fail("zmq_getsockopt(ZMQ_LAST_ENDPOINT): %s", zmq_strerror(zmq_errno()));
    printf("ENDPOINT %.*s\n", (int)strnlen(last, last_len), last);

    for (; i < argc; i++)
        run_action(argv[i]);

    if (g_have_last) mp_close(&g_last);
    if (g_have_pending) mp_close(&g_pending);
    if (zmq_close(g_sock) != 0) fail("zmq_close: %s", zmq_strerror(zmq_errno()));
    if (zmq_ctx_term(g_ctx) != 0) fail("zmq_ctx_term: %s", zmq_strerror(zmq_errno()));
    printf("DONE\n");
    return 0;
}
