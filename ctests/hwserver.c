/*
 * Hello-world request/reply: a REP "server" thread answers "World" to each
 * "Hello" from a REQ client, ten round trips, over the transport named on
 * the command line (tcp | ipc | inproc).
 */
#include "testutil.h"

#define ROUNDS 10

static void *server_main (void *arg)
{
    void *rep = arg;
    for (int i = 0; i < ROUNDS; i++) {
        char buf[64];
        int n = zmq_recv (rep, buf, sizeof buf, 0);
        CHECK (n == 5, "server receives 5-byte request");
        CHECK (memcmp (buf, "Hello", 5) == 0, "server request is Hello");
        int more = 1;
        size_t sz = sizeof more;
        CHECK_OK (zmq_getsockopt (rep, ZMQ_RCVMORE, &more, &sz),
                  "server getsockopt RCVMORE");
        CHECK (more == 0, "request is single-part");
        CHECK (zmq_send (rep, "World", 5, 0) == 5, "server sends World");
    }
    return NULL;
}

int main (int argc, char **argv)
{
    tu_init (50);
    const char *transport = argc > 1 ? argv[1] : "tcp";

    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");

    void *rep = tu_socket (ctx, ZMQ_REP);
    char endpoint[256];
    tu_bind_ephemeral (rep, transport, endpoint, sizeof endpoint);
    CHECK (strncmp (endpoint, transport, strlen (transport)) == 0,
           "LAST_ENDPOINT uses the bound transport");
    printf ("server bound to %s\n", endpoint);

    /* The socket is handed to the server thread; the thread creation is a
     * full memory barrier, so this migration is legal. */
    pthread_t server = tu_thread_start (server_main, rep);

    void *req = tu_socket (ctx, ZMQ_REQ);
    CHECK_OK (zmq_connect (req, endpoint), "client connect");

    for (int i = 0; i < ROUNDS; i++) {
        CHECK (zmq_send (req, "Hello", 5, 0) == 5, "client sends Hello");
        char buf[64];
        int n = zmq_recv (req, buf, sizeof buf, 0);
        CHECK (n == 5, "client receives 5-byte reply");
        CHECK (memcmp (buf, "World", 5) == 0, "client reply is World");
        printf ("round %d: Hello -> World\n", i + 1);
    }

    tu_thread_join (server);
    CHECK_OK (zmq_close (req), "close req");
    CHECK_OK (zmq_close (rep), "close rep");
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    tu_cleanup_endpoint (endpoint);
    printf ("hwserver %s: OK\n", transport);
    return 0;
}
