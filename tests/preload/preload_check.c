/*
 * preload_check.c - built and linked against the SYSTEM libzmq (Debian's
 * libzmq3-dev), then run plainly, with LD_PRELOAD=<ours> and with
 * LD_LIBRARY_PATH=<our dir> to show that our library is a drop-in
 * replacement for an already-built program.
 *
 * Prints:
 *   LIB <object providing zmq_socket, via dladdr>
 *   VERSION <zmq_version>
 *   LOADED <path>        for every loaded object whose name contains libzmq
 *   CHECK <name> ok      for each check passed
 *   RESULT OK            at the end (exit 0); "FAIL: ..." on stderr, exit 1
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static void fail(const char *what)
{
    fprintf(stderr, "FAIL: %s: %s (errno %d)\n", what, zmq_strerror(zmq_errno()), zmq_errno());
    fflush(stdout);
    _exit(1);
}

static int list_libzmq(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (info->dlpi_name && strstr(info->dlpi_name, "libzmq"))
        printf("LOADED %s\n", info->dlpi_name);
    return 0;
}

static void *mksock(void *ctx, int type)
{
    void *s = zmq_socket(ctx, type);
    if (!s) fail("zmq_socket");
    int t = 10000, linger = 0;
    if (zmq_setsockopt(s, ZMQ_RCVTIMEO, &t, sizeof t)) fail("ZMQ_RCVTIMEO");
    if (zmq_setsockopt(s, ZMQ_SNDTIMEO, &t, sizeof t)) fail("ZMQ_SNDTIMEO");
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger)) fail("ZMQ_LINGER");
    return s;
}

static void expect_frame(void *s, const char *want, int more_expected, const char *what)
{
    char buf[256];
    int n = zmq_recv(s, buf, sizeof buf, 0);
    if (n < 0) fail(what);
    if ((size_t)n != strlen(want) || memcmp(buf, want, n) != 0) {
        fprintf(stderr, "FAIL: %s: got '%.*s', expected '%s'\n", what, n, buf, want);
        _exit(1);
    }
    int more;
    size_t len = sizeof more;
    if (zmq_getsockopt(s, ZMQ_RCVMORE, &more, &len)) fail("ZMQ_RCVMORE");
    if (!!more != !!more_expected) {
        fprintf(stderr, "FAIL: %s: RCVMORE %d\n", what, more);
        _exit(1);
    }
}

static void req_rep(void *ctx, const char *bind_ep, const char *name)
{
    void *rep = mksock(ctx, ZMQ_REP);
    void *req = mksock(ctx, ZMQ_REQ);
    if (zmq_bind(rep, bind_ep)) fail("zmq_bind");
    char ep[256];
    size_t len = sizeof ep;
    if (zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, ep, &len)) fail("ZMQ_LAST_ENDPOINT");
    if (zmq_connect(req, ep)) fail("zmq_connect");

    for (int round = 0; round < 3; round++) {
        if (zmq_send(req, "hello", 5, ZMQ_SNDMORE) != 5) fail("send hello");
        if (zmq_send(req, "world", 5, 0) != 5) fail("send world");

        zmq_pollitem_t items[] = {{rep, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 1, 10000);
        if (rc != 1 || !(items[0].revents & ZMQ_POLLIN)) fail("zmq_poll on REP");
        expect_frame(rep, "hello", 1, "REP frame 1");
        expect_frame(rep, "world", 0, "REP frame 2");

        zmq_msg_t msg;
        if (zmq_msg_init_size(&msg, 4)) fail("zmq_msg_init_size");
        memcpy(zmq_msg_data(&msg), "pong", 4);
        if (zmq_msg_send(&msg, rep, 0) != 4) fail("zmq_msg_send");
        expect_frame(req, "pong", 0, "REQ reply");
    }
    if (zmq_close(req) || zmq_close(rep)) fail("zmq_close");
    printf("CHECK %s ok (%s)\n", name, ep);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(60);

    Dl_info info;
    if (!dladdr((void *)&zmq_socket, &info) || !info.dli_fname) {
        fprintf(stderr, "FAIL: dladdr\n");
        return 1;
    }
    printf("LIB %s\n", info.dli_fname);
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    printf("VERSION %d.%d.%d\n", major, minor, patch);
    dl_iterate_phdr(list_libzmq, NULL);

    void *ctx = zmq_ctx_new();
    if (!ctx) fail("zmq_ctx_new");

    /* Error reporting through the C ABI. */
    void *s = zmq_socket(ctx, ZMQ_REP);
    if (!s) fail("zmq_socket");
    if (zmq_bind(s, "bogus://nowhere") != -1 || zmq_errno() != EPROTONOSUPPORT) {
        fprintf(stderr, "FAIL: bind to bogus:// should fail with EPROTONOSUPPORT, errno %d\n",
                zmq_errno());
        return 1;
    }
    zmq_close(s);
    printf("CHECK errors ok\n");

    req_rep(ctx, "inproc://preload-check", "inproc");
    req_rep(ctx, "tcp://127.0.0.1:*", "tcp");

    if (zmq_ctx_term(ctx)) fail("zmq_ctx_term");
    printf("RESULT OK\n");
    return 0;
}
