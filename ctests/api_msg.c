/*
 * API conformance: messages.
 *  - zmq_msg_* API: init, init_size, init_data (free function called exactly
 *    once), copy, move, size, data, close, get ZMQ_MORE / ZMQ_SHARED,
 *    gets "Socket-Type" / "Peer-Address" on a message received over tcp
 *  - 0-byte and 10 MiB messages round trip with content check
 *  - multipart messages (RCVMORE, zmq_msg_more, ZMQ_MORE)
 *  - zmq_recv truncation returns the full size
 *  - zmq_send_const
 */
#include "testutil.h"

static int free_calls = 0;
static void *free_data_seen = NULL;
static void *free_hint_seen = NULL;

static void count_free (void *data, void *hint)
{
    __atomic_add_fetch (&free_calls, 1, __ATOMIC_SEQ_CST);
    free_data_seen = data;
    free_hint_seen = hint;
    free (data);
}

static int frees (void)
{
    return __atomic_load_n (&free_calls, __ATOMIC_SEQ_CST);
}

static void wait_frees (int expected, const char *name)
{
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    while (frees () < expected && tu_now_ms () < deadline)
        tu_sleep_ms (1);
    CHECK (frees () == expected, name);
}

static void test_msg_basics (void)
{
    zmq_msg_t a, b, c;

    CHECK (sizeof (zmq_msg_t) == 64, "sizeof(zmq_msg_t) == 64");

    CHECK_OK (zmq_msg_init (&a), "msg_init");
    CHECK (zmq_msg_size (&a) == 0, "empty msg has size 0");
    CHECK (zmq_msg_more (&a) == 0, "empty msg has no MORE");
    CHECK (zmq_msg_get (&a, ZMQ_MORE) == 0, "msg_get MORE on fresh msg");
    CHECK_OK (zmq_msg_close (&a), "msg_close empty");

    /* init_size, data, size */
    CHECK_OK (zmq_msg_init_size (&a, 100), "msg_init_size 100");
    CHECK (zmq_msg_size (&a) == 100, "init_size msg has size 100");
    CHECK (zmq_msg_data (&a) != NULL, "init_size msg has data");
    memset (zmq_msg_data (&a), 'a', 100);
    CHECK (zmq_msg_get (&a, ZMQ_SHARED) == 0, "fresh msg is not shared");

    /* copy shares a large message */
    CHECK_OK (zmq_msg_init (&b), "msg_init copy target");
    CHECK_OK (zmq_msg_copy (&b, &a), "msg_copy");
    CHECK (zmq_msg_size (&b) == 100, "copy has same size");
    CHECK (memcmp (zmq_msg_data (&b), zmq_msg_data (&a), 100) == 0,
           "copy has same content");
    CHECK (zmq_msg_get (&a, ZMQ_SHARED) == 1, "original is shared after copy");
    CHECK (zmq_msg_get (&b, ZMQ_SHARED) == 1, "copy is shared");

    /* move */
    CHECK_OK (zmq_msg_init (&c), "msg_init move target");
    CHECK_OK (zmq_msg_move (&c, &b), "msg_move");
    CHECK (zmq_msg_size (&c) == 100, "move target has the content size");
    CHECK (((char *) zmq_msg_data (&c))[99] == 'a', "move target content");
    CHECK (zmq_msg_size (&b) == 0, "move source is left empty");
    CHECK_OK (zmq_msg_close (&b), "close moved-from msg");
    CHECK_OK (zmq_msg_close (&c), "close move target");
    CHECK (((char *) zmq_msg_data (&a))[0] == 'a',
           "original intact after closing the copy");
    CHECK_OK (zmq_msg_close (&a), "close original");

    /* small (inline) message copy keeps content */
    CHECK_OK (zmq_msg_init_size (&a, 5), "msg_init_size 5");
    memcpy (zmq_msg_data (&a), "small", 5);
    CHECK_OK (zmq_msg_init (&b), "init");
    CHECK_OK (zmq_msg_copy (&b, &a), "copy small");
    CHECK (zmq_msg_size (&b) == 5 && memcmp (zmq_msg_data (&b), "small", 5) == 0,
           "small copy content");
    CHECK_OK (zmq_msg_close (&a), "close");
    CHECK_OK (zmq_msg_close (&b), "close");

    /* errors */
    CHECK_OK (zmq_msg_init (&a), "init");
    CHECK_ERR (zmq_msg_get (&a, 9999), EINVAL, "msg_get unknown property");
    CHECK_ERR (zmq_msg_set (&a, ZMQ_MORE, 1), EINVAL,
               "msg_set is not supported -> EINVAL");
    CHECK_NULL_ERR (zmq_msg_gets (&a, "Socket-Type"), EINVAL,
                    "msg_gets on a local message -> NULL/EINVAL");
    CHECK_OK (zmq_msg_close (&a), "close");
    CHECK_ERR (zmq_msg_init_size (&a, (size_t) -1), ENOMEM,
               "msg_init_size(SIZE_MAX) -> ENOMEM");

    /* init_data with no data */
    CHECK_OK (zmq_msg_init_data (&a, NULL, 0, NULL, NULL),
              "msg_init_data(NULL, 0)");
    CHECK (zmq_msg_size (&a) == 0, "empty init_data size");
    CHECK_OK (zmq_msg_close (&a), "close");
}

static void test_init_data_free (void *ctx)
{
    int hint_token = 42;
    zmq_msg_t a, b;

    /* local copies: freed once, after the last reference goes */
    free_calls = 0;
    char *buf = malloc (1000);
    CHECK (buf != NULL, "malloc");
    memset (buf, 'z', 1000);
    CHECK_OK (zmq_msg_init_data (&a, buf, 1000, count_free, &hint_token),
              "msg_init_data");
    CHECK (zmq_msg_data (&a) == buf, "init_data uses the caller's buffer");
    CHECK (zmq_msg_size (&a) == 1000, "init_data size");
    CHECK_OK (zmq_msg_init (&b), "init");
    CHECK_OK (zmq_msg_copy (&b, &a), "copy init_data msg");
    CHECK (zmq_msg_data (&b) == buf, "copy shares the caller's buffer");
    CHECK_OK (zmq_msg_close (&a), "close original");
    CHECK (frees () == 0, "free fn not called while a copy is alive");
    CHECK_OK (zmq_msg_close (&b), "close copy");
    CHECK (frees () == 1, "free fn called exactly once after last close");
    CHECK (free_data_seen == buf, "free fn receives the data pointer");
    CHECK (free_hint_seen == &hint_token, "free fn receives the hint");

    /* receiving into a message releases its old content */
    void *pull = tu_socket (ctx, ZMQ_PULL);
    void *push = tu_socket (ctx, ZMQ_PUSH);
    char ep[256];
    tu_bind_ephemeral (pull, "inproc", ep, sizeof ep);
    CHECK_OK (zmq_connect (push, ep), "connect");
    CHECK (zmq_send (push, "hello", 5, 0) == 5, "send");
    free_calls = 0;
    buf = malloc (1000);
    CHECK_OK (zmq_msg_init_data (&a, buf, 1000, count_free, NULL),
              "msg_init_data");
    CHECK (zmq_msg_recv (&a, pull, 0) == 5, "msg_recv into used msg");
    CHECK (frees () == 1, "old content released by msg_recv");
    CHECK (memcmp (zmq_msg_data (&a), "hello", 5) == 0, "received content");
    CHECK_OK (zmq_msg_close (&a), "close");
    CHECK (frees () == 1, "no second free");

    /* sent over inproc: freed once, when the receiver is done with it */
    free_calls = 0;
    buf = malloc (1000);
    memset (buf, 'q', 1000);
    CHECK_OK (zmq_msg_init_data (&a, buf, 1000, count_free, NULL),
              "msg_init_data");
    CHECK (zmq_msg_send (&a, push, 0) == 1000, "msg_send returns size");
    CHECK (zmq_msg_size (&a) == 0, "msg_send empties the message");
    CHECK_OK (zmq_msg_close (&a), "close sent msg (no-op)");
    CHECK_OK (zmq_msg_init (&b), "init");
    CHECK (zmq_msg_recv (&b, pull, 0) == 1000, "msg_recv 1000");
    CHECK (((char *) zmq_msg_data (&b))[999] == 'q', "content over inproc");
    CHECK_OK (zmq_msg_close (&b), "close received");
    wait_frees (1, "inproc: free fn called exactly once");

    /* sent over tcp: freed once, after the engine wrote it out */
    void *pull2 = tu_socket (ctx, ZMQ_PULL);
    void *push2 = tu_socket (ctx, ZMQ_PUSH);
    tu_bind_ephemeral (pull2, "tcp", ep, sizeof ep);
    CHECK_OK (zmq_connect (push2, ep), "connect tcp");
    free_calls = 0;
    buf = malloc (1000);
    memset (buf, 't', 1000);
    CHECK_OK (zmq_msg_init_data (&a, buf, 1000, count_free, NULL),
              "msg_init_data");
    CHECK (zmq_msg_send (&a, push2, 0) == 1000, "msg_send tcp");
    CHECK_OK (zmq_msg_close (&a), "close");
    CHECK_OK (zmq_msg_init (&b), "init");
    CHECK (zmq_msg_recv (&b, pull2, 0) == 1000, "msg_recv tcp");
    CHECK (((char *) zmq_msg_data (&b))[0] == 't', "content over tcp");
    CHECK_OK (zmq_msg_close (&b), "close");
    wait_frees (1, "tcp: free fn called exactly once");
    tu_sleep_ms (50);
    CHECK (frees () == 1, "tcp: free fn not called again");

    CHECK_OK (zmq_close (push), "close");
    CHECK_OK (zmq_close (pull), "close");
    CHECK_OK (zmq_close (push2), "close");
    CHECK_OK (zmq_close (pull2), "close");
}

static void test_sizes_and_parts (void *ctx)
{
    void *a = tu_socket (ctx, ZMQ_DEALER);
    void *b = tu_socket (ctx, ZMQ_DEALER);
    char ep[256];
    tu_bind_ephemeral (a, "tcp", ep, sizeof ep);
    CHECK_OK (zmq_connect (b, ep), "connect");

    /* 0-byte */
    CHECK (zmq_send (b, "", 0, 0) == 0, "send 0 bytes returns 0");
    char small[16];
    CHECK (zmq_recv (a, small, sizeof small, 0) == 0, "recv 0-byte message");
    CHECK (zmq_send (a, NULL, 0, 0) == 0, "send NULL/0 bytes returns 0");
    zmq_msg_t m;
    CHECK_OK (zmq_msg_init (&m), "init");
    CHECK (zmq_msg_recv (&m, b, 0) == 0, "msg_recv 0-byte message");
    CHECK (zmq_msg_size (&m) == 0, "0-byte message size");
    CHECK (zmq_msg_more (&m) == 0, "0-byte message has no more");
    CHECK_OK (zmq_msg_close (&m), "close");

    /* 10 MiB, sent with zmq_send, echoed back with zmq_msg_send */
    const size_t big = 10 * 1024 * 1024;
    unsigned char *data = malloc (big);
    CHECK (data != NULL, "malloc 10 MiB");
    for (size_t i = 0; i < big; i++)
        data[i] = (unsigned char) ((i * 31 + 7) ^ (i >> 13));
    CHECK (zmq_send (b, data, big, 0) == (int) big, "send 10 MiB");
    CHECK_OK (zmq_msg_init (&m), "init");
    CHECK (zmq_msg_recv (&m, a, 0) == (int) big, "recv 10 MiB");
    CHECK (zmq_msg_size (&m) == big, "10 MiB size");
    CHECK (memcmp (zmq_msg_data (&m), data, big) == 0, "10 MiB content");
    CHECK (zmq_msg_send (&m, a, 0) == (int) big, "echo 10 MiB");
    CHECK_OK (zmq_msg_close (&m), "close");
    CHECK_OK (zmq_msg_init (&m), "init");
    CHECK (zmq_msg_recv (&m, b, 0) == (int) big, "recv echoed 10 MiB");
    CHECK (memcmp (zmq_msg_data (&m), data, big) == 0,
           "echoed 10 MiB content");
    CHECK_OK (zmq_msg_close (&m), "close");
    free (data);

    /* multipart: 4 frames including an empty one */
    const char *parts[4] = {"first", "", "third frame", "4"};
    for (int i = 0; i < 4; i++)
        CHECK (zmq_send (b, parts[i], strlen (parts[i]), i < 3 ? ZMQ_SNDMORE : 0)
                 == (int) strlen (parts[i]),
               "send multipart frame");
    for (int i = 0; i < 4; i++) {
        CHECK_OK (zmq_msg_init (&m), "init");
        CHECK (zmq_msg_recv (&m, a, 0) == (int) strlen (parts[i]),
               "recv multipart frame size");
        CHECK (memcmp (zmq_msg_data (&m), parts[i], strlen (parts[i])) == 0,
               "multipart frame content");
        int expect_more = i < 3;
        CHECK (zmq_msg_more (&m) == expect_more, "zmq_msg_more per frame");
        CHECK (zmq_msg_get (&m, ZMQ_MORE) == expect_more,
               "zmq_msg_get(ZMQ_MORE) per frame");
        int more = -1;
        size_t sz = sizeof more;
        CHECK_OK (zmq_getsockopt (a, ZMQ_RCVMORE, &more, &sz),
                  "getsockopt RCVMORE");
        CHECK (sz == sizeof (int), "RCVMORE is an int");
        CHECK (more == expect_more, "RCVMORE per frame");
        CHECK_OK (zmq_msg_close (&m), "close");
    }
    CHECK_ERR (zmq_recv (a, small, sizeof small, ZMQ_DONTWAIT), EAGAIN,
               "nothing after the last frame");

    /* multipart built from zmq_msg_t with SNDMORE */
    for (int i = 0; i < 3; i++) {
        CHECK_OK (zmq_msg_init_size (&m, 3), "init_size");
        memcpy (zmq_msg_data (&m), i == 0 ? "one" : i == 1 ? "two" : "six", 3);
        CHECK (zmq_msg_send (&m, a, i < 2 ? ZMQ_SNDMORE : 0) == 3,
               "msg_send multipart");
    }
    zmq_msg_t got[8];
    int n = tu_recv_multipart (b, got, 8, "recv multipart");
    CHECK (n == 3, "3-part message arrives whole");
    CHECK (memcmp (zmq_msg_data (&got[2]), "six", 3) == 0, "part 3 content");
    for (int i = 0; i < n; i++)
        zmq_msg_close (&got[i]);

    /* truncation */
    CHECK (zmq_send (b, "0123456789", 10, 0) == 10, "send 10 bytes");
    char trunc[8];
    memset (trunc, '#', sizeof trunc);
    CHECK (zmq_recv (a, trunc, 4, 0) == 10,
           "zmq_recv into 4-byte buffer returns full size 10");
    CHECK (memcmp (trunc, "0123", 4) == 0, "truncated prefix is copied");
    CHECK (trunc[4] == '#', "nothing written past the buffer length");
    CHECK_ERR (zmq_recv (a, trunc, 4, ZMQ_DONTWAIT), EAGAIN,
               "truncated remainder is discarded");

    /* zmq_send_const */
    static const char constant[] = "constant data";
    CHECK (zmq_send_const (b, constant, sizeof constant, ZMQ_SNDMORE)
             == (int) sizeof constant,
           "send_const returns size");
    CHECK (zmq_send_const (b, constant, 8, 0) == 8, "send_const last part");
    char cbuf[64];
    CHECK (zmq_recv (a, cbuf, sizeof cbuf, 0) == (int) sizeof constant,
           "recv const frame");
    CHECK (memcmp (cbuf, constant, sizeof constant) == 0, "const content");
    CHECK (zmq_recv (a, cbuf, sizeof cbuf, 0) == 8, "recv const part 2");
    CHECK (memcmp (cbuf, "constant", 8) == 0, "const part 2 content");

    CHECK_OK (zmq_close (a), "close");
    CHECK_OK (zmq_close (b), "close");
}

static void test_metadata (void *ctx)
{
    void *router = tu_socket (ctx, ZMQ_ROUTER);
    void *dealer = tu_socket (ctx, ZMQ_DEALER);
    char ep[256];
    tu_bind_ephemeral (router, "tcp", ep, sizeof ep);
    CHECK_OK (zmq_connect (dealer, ep), "connect");
    CHECK (zmq_send (dealer, "hi", 2, 0) == 2, "send");

    zmq_msg_t id, body;
    CHECK_OK (zmq_msg_init (&id), "init");
    CHECK_OK (zmq_msg_init (&body), "init");
    CHECK_OK (zmq_msg_recv (&id, router, 0), "recv routing id");
    CHECK (zmq_msg_more (&id), "routing id frame has more");
    CHECK (zmq_msg_recv (&body, router, 0) == 2, "recv body");

    const char *st = zmq_msg_gets (&body, "Socket-Type");
    CHECK (st != NULL, "gets Socket-Type on tcp message");
    CHECK (strcmp (st, "DEALER") == 0, "Socket-Type is the peer's type");
    const char *pa = zmq_msg_gets (&body, "Peer-Address");
    CHECK (pa != NULL, "gets Peer-Address on tcp message");
    CHECK (strcmp (pa, "127.0.0.1") == 0, "Peer-Address is 127.0.0.1");
    CHECK_NULL_ERR (zmq_msg_gets (&body, "No-Such-Property"), EINVAL,
                    "gets unknown property -> NULL/EINVAL");

    /* a copy carries the same metadata */
    zmq_msg_t copy;
    CHECK_OK (zmq_msg_init (&copy), "init");
    CHECK_OK (zmq_msg_copy (&copy, &body), "copy");
    st = zmq_msg_gets (&copy, "Socket-Type");
    CHECK (st != NULL && strcmp (st, "DEALER") == 0, "copy keeps metadata");
    CHECK_OK (zmq_msg_close (&copy), "close");

    /* and the other direction: the dealer sees the router */
    CHECK_OK (zmq_msg_send (&id, router, ZMQ_SNDMORE), "reply id");
    CHECK (zmq_send (router, "yo", 2, 0) == 2, "reply body");
    zmq_msg_t reply;
    CHECK_OK (zmq_msg_init (&reply), "init");
    CHECK (zmq_msg_recv (&reply, dealer, 0) == 2, "dealer recv");
    st = zmq_msg_gets (&reply, "Socket-Type");
    CHECK (st != NULL && strcmp (st, "ROUTER") == 0,
           "dealer sees Socket-Type ROUTER");
    CHECK_OK (zmq_msg_close (&reply), "close");

    CHECK_OK (zmq_msg_close (&id), "close");
    CHECK_OK (zmq_msg_close (&body), "close");
    CHECK_OK (zmq_close (router), "close");
    CHECK_OK (zmq_close (dealer), "close");
}

int main (void)
{
    tu_init (50);
    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");

    test_msg_basics ();
    printf ("zmq_msg basics: OK\n");
    test_init_data_free (ctx);
    printf ("zmq_msg_init_data free fn: OK\n");
    test_sizes_and_parts (ctx);
    printf ("0-byte / 10 MiB / multipart / truncation / send_const: OK\n");
    test_metadata (ctx);
    printf ("message metadata: OK\n");

    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    return 0;
}
