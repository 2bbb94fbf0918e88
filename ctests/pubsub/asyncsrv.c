/*
 * Asynchronous client/server: DEALER clients (each with its own routing id)
 * talk to a server whose ROUTER frontend is joined by zmq_proxy to an inproc
 * DEALER backend, where several DEALER worker threads pick up [id][request]
 * and answer with any number of [id][reply] messages.
 *
 * Request n gets n % 3 + 1 replies. Each client keeps sending while it
 * collects replies, and must end up with exactly the replies to its own
 * requests: each one once, addressed to it, none for another client.
 *
 * Usage: asyncsrv [clients] [workers] [requests-per-client]
 */
#include "ps_util.h"

#define MAX_PEERS 16
#define MAX_REQUESTS 1000

static int requests = 60;

typedef struct
{
    void *ctx;
    int id;
    const char *ep;
    void *sock; /* workers: socket created (and connected) by main */
    int replies;
} peer_t;

typedef struct
{
    void *frontend, *backend;
    int rc, err;
} proxy_t;

static void *server_main (void *arg)
{
    proxy_t *p = arg;
    p->rc = zmq_proxy (p->frontend, p->backend, NULL);
    p->err = errno;
    ps_close (p->frontend);
    ps_close (p->backend);
    return NULL;
}

static void *worker_main (void *arg)
{
    peer_t *w = arg;
    /* Created by main: the context may be terminated before this thread
     * would get to create it. */
    void *dealer = w->sock;
    while (1) {
        zmq_msg_t id;
        CHECK_OK (zmq_msg_init (&id), "msg init");
        if (zmq_msg_recv (&id, dealer, 0) == -1) {
            int err = errno;
            CHECK (err == EAGAIN || err == ETERM, "worker recv");
            zmq_msg_close (&id);
            if (err == ETERM)
                break;
            continue; /* idle: keep waiting until the context ends */
        }
        CHECK (zmq_msg_more (&id), "identity frame is followed by a body");
        char body[64];
        int more = 0;
        ps_recv_part (dealer, body, sizeof body, &more, "worker gets body");
        CHECK (!more, "request has two frames");
        int n = -1;
        CHECK (sscanf (body, "request %d", &n) == 1, "request format");
        char client[64];
        size_t idlen = zmq_msg_size (&id);
        CHECK (idlen < sizeof client, "identity size");
        memcpy (client, zmq_msg_data (&id), idlen);
        client[idlen] = '\0';
        for (int j = 0; j < n % 3 + 1; j++) {
            char reply[128];
            snprintf (reply, sizeof reply, "reply %d.%d for %s by %d", n, j,
                      client, w->id);
            zmq_msg_t copy;
            CHECK_OK (zmq_msg_init (&copy), "msg init");
            CHECK_OK (zmq_msg_copy (&copy, &id), "copy identity");
            CHECK_OK (zmq_msg_send (&copy, dealer, ZMQ_SNDMORE),
                      "worker sends identity");
            tu_send_str (dealer, reply, 0, "worker sends reply");
        }
        zmq_msg_close (&id);
        w->replies++;
    }
    ps_close (dealer);
    return NULL;
}

static void client_take_reply (void *dealer, peer_t *c,
                               unsigned char *seen /* [requests][3] */)
{
    char buf[128], me[32];
    tu_recv_str (dealer, buf, sizeof buf, "client receives a reply");
    int n = -1, j = -1, w = -1;
    CHECK (sscanf (buf, "reply %d.%d for %31s by %d", &n, &j, me, &w) == 4,
           "reply format");
    char mine[32];
    snprintf (mine, sizeof mine, "client-%d", c->id);
    if (strcmp (me, mine) != 0)
        fprintf (stderr, "%s got \"%s\"\n", mine, buf);
    CHECK (strcmp (me, mine) == 0, "reply is addressed to this client");
    CHECK (n >= 0 && n < requests && j >= 0 && j < n % 3 + 1,
           "reply belongs to a request");
    CHECK (!seen[n * 3 + j], "each reply arrives once");
    seen[n * 3 + j] = 1;
    c->replies++;
}

static void *client_main (void *arg)
{
    peer_t *c = arg;
    void *dealer = tu_socket (c->ctx, ZMQ_DEALER);
    char id[32];
    snprintf (id, sizeof id, "client-%d", c->id);
    CHECK_OK (zmq_setsockopt (dealer, ZMQ_ROUTING_ID, id, strlen (id)),
              "client routing id");
    CHECK_OK (zmq_connect (dealer, c->ep), "client connects");

    unsigned char *seen = calloc ((size_t) requests * 3, 1);
    CHECK (seen != NULL, "calloc");
    int expected = 0;
    for (int n = 0; n < requests; n++) {
        char req[32];
        snprintf (req, sizeof req, "request %d", n);
        tu_send_str (dealer, req, 0, "client sends a request");
        expected += n % 3 + 1;
        /* Collect whatever has arrived meanwhile, without blocking. */
        while (ps_wait_in (dealer, 0))
            client_take_reply (dealer, c, seen);
    }
    while (c->replies < expected)
        client_take_reply (dealer, c, seen);
    free (seen);
    ps_close (dealer);
    return NULL;
}

int main (int argc, char **argv)
{
    tu_init (50);
    int nclients = argc > 1 ? atoi (argv[1]) : 3;
    int nworkers = argc > 2 ? atoi (argv[2]) : 4;
    if (argc > 3)
        requests = atoi (argv[3]);
    CHECK (nclients > 0 && nclients <= MAX_PEERS && nworkers > 0
             && nworkers <= MAX_PEERS && requests > 0
             && requests <= MAX_REQUESTS,
           "arguments");

    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");
    proxy_t server = {tu_socket (ctx, ZMQ_ROUTER), tu_socket (ctx, ZMQ_DEALER),
                      0, 0};
    char front_ep[256], back_ep[256];
    tu_bind_ephemeral (server.frontend, "tcp", front_ep, sizeof front_ep);
    tu_bind_ephemeral (server.backend, "inproc", back_ep, sizeof back_ep);
    pthread_t st = tu_thread_start (server_main, &server);

    peer_t workers[MAX_PEERS], clients[MAX_PEERS];
    pthread_t wt[MAX_PEERS], ct[MAX_PEERS];
    for (int i = 0; i < nworkers; i++) {
        workers[i] = (peer_t){ctx, i, back_ep, tu_socket (ctx, ZMQ_DEALER), 0};
        CHECK_OK (zmq_connect (workers[i].sock, back_ep),
                  "worker connects to backend");
        wt[i] = tu_thread_start (worker_main, &workers[i]);
    }
    for (int i = 0; i < nclients; i++) {
        clients[i] = (peer_t){ctx, i, front_ep, NULL, 0};
        ct[i] = tu_thread_start (client_main, &clients[i]);
    }
    int expected = 0;
    for (int n = 0; n < requests; n++)
        expected += n % 3 + 1;
    for (int i = 0; i < nclients; i++) {
        tu_thread_join (ct[i]);
        CHECK (clients[i].replies == expected, "client got all its replies");
    }

    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    int handled = 0;
    for (int i = 0; i < nworkers; i++) {
        tu_thread_join (wt[i]);
        handled += workers[i].replies;
    }
    tu_thread_join (st);
    CHECK (handled == nclients * requests, "every request handled once");
    CHECK (server.rc == -1 && server.err == ETERM, "zmq_proxy ends with ETERM");
    printf ("asyncsrv: %d clients x %d requests, %d workers OK\n", nclients,
            requests, nworkers);
    return 0;
}
