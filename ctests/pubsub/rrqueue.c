/*
 * Shared request queue: zmq_proxy between a ROUTER frontend and a DEALER
 * backend. Several REQ clients send numbered requests to the frontend,
 * several REP workers connected to the backend answer them. Every client
 * must get the reply to exactly the request it sent. Terminating the
 * context ends the workers (ETERM from a blocked recv) and the proxy.
 *
 * Usage: rrqueue [clients] [workers] [requests-per-client]
 */
#include "ps_util.h"

#define MAX_PEERS 16

static int requests = 50;

typedef struct
{
    void *ctx;
    int id;
    const char *ep;
    void *sock; /* workers: socket created (and connected) by main */
    int handled;
} peer_t;

typedef struct
{
    void *frontend, *backend;
    int rc, err;
} proxy_t;

static void *proxy_main (void *arg)
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
    void *rep = w->sock;
    while (1) {
        char buf[128], out[192];
        int n = zmq_recv (rep, buf, sizeof buf - 1, 0);
        if (n == -1 && errno == EAGAIN)
            continue; /* idle: keep waiting until the context ends */
        if (n == -1) {
            CHECK (errno == ETERM, "worker recv ends with ETERM");
            break;
        }
        CHECK (n < (int) sizeof buf, "request fits");
        buf[n] = '\0';
        CHECK (strncmp (buf, "request ", 8) == 0, "worker gets a request");
        snprintf (out, sizeof out, "reply to %s by worker %d", buf, w->id);
        tu_send_str (rep, out, 0, "worker replies");
        w->handled++;
    }
    ps_close (rep);
    return NULL;
}

static void *client_main (void *arg)
{
    peer_t *c = arg;
    void *req = tu_socket (c->ctx, ZMQ_REQ);
    CHECK_OK (zmq_connect (req, c->ep), "client connects to frontend");
    for (int i = 0; i < requests; i++) {
        char request[64], expect[96], reply[192];
        snprintf (request, sizeof request, "request %d.%d", c->id, i);
        tu_send_str (req, request, 0, "client sends a request");
        tu_recv_str (req, reply, sizeof reply, "client receives a reply");
        snprintf (expect, sizeof expect, "reply to %s by worker ", request);
        if (strncmp (reply, expect, strlen (expect)) != 0)
            fprintf (stderr, "client %d: \"%s\" for \"%s\"\n", c->id, reply,
                     request);
        CHECK (strncmp (reply, expect, strlen (expect)) == 0,
               "reply matches the request");
        c->handled++;
    }
    ps_close (req);
    return NULL;
}

int main (int argc, char **argv)
{
    tu_init (50);
    int nclients = argc > 1 ? atoi (argv[1]) : 4;
    int nworkers = argc > 2 ? atoi (argv[2]) : 3;
    if (argc > 3)
        requests = atoi (argv[3]);
    CHECK (nclients > 0 && nclients <= MAX_PEERS && nworkers > 0
             && nworkers <= MAX_PEERS,
           "peer counts");

    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");
    proxy_t proxy = {tu_socket (ctx, ZMQ_ROUTER), tu_socket (ctx, ZMQ_DEALER),
                     0, 0};
    char front_ep[256], back_ep[256];
    tu_bind_ephemeral (proxy.frontend, "tcp", front_ep, sizeof front_ep);
    tu_bind_ephemeral (proxy.backend, "tcp", back_ep, sizeof back_ep);
    pthread_t pt = tu_thread_start (proxy_main, &proxy);

    peer_t workers[MAX_PEERS], clients[MAX_PEERS];
    pthread_t wt[MAX_PEERS], ct[MAX_PEERS];
    for (int i = 0; i < nworkers; i++) {
        workers[i] = (peer_t){ctx, i, back_ep, tu_socket (ctx, ZMQ_REP), 0};
        CHECK_OK (zmq_connect (workers[i].sock, back_ep),
                  "worker connects to backend");
        wt[i] = tu_thread_start (worker_main, &workers[i]);
    }
    for (int i = 0; i < nclients; i++) {
        clients[i] = (peer_t){ctx, i, front_ep, NULL, 0};
        ct[i] = tu_thread_start (client_main, &clients[i]);
    }
    for (int i = 0; i < nclients; i++) {
        tu_thread_join (ct[i]);
        CHECK (clients[i].handled == requests, "client got every reply");
    }

    /* Every worker is idle in recv now; terminating the context ends them
     * and the proxy. */
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    int total = 0;
    for (int i = 0; i < nworkers; i++) {
        tu_thread_join (wt[i]);
        printf ("worker %d handled %d requests\n", i, workers[i].handled);
        total += workers[i].handled;
    }
    tu_thread_join (pt);
    CHECK (total == nclients * requests, "workers handled every request once");
    CHECK (proxy.rc == -1 && proxy.err == ETERM, "zmq_proxy ends with ETERM");
    printf ("rrqueue: %d clients x %d requests via %d workers OK\n", nclients,
            requests, nworkers);
    return 0;
}
