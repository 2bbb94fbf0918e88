/*
 * Request-reply broker: REQ clients talk to a ROUTER frontend, a DEALER
 * backend hands the requests to REP workers. The broker is a zmq_poll loop
 * shuttling whole multipart messages between the two sockets. Every reply
 * must reach the right client with the right content.
 */
#include "testutil.h"

#define CLIENTS 3
#define REQUESTS 10
#define WORKERS 3

static int stop_flag = 0;

typedef struct
{
    void *ctx;
    int id;
    const char *endpoint;
} peer_t;

static void *client_main (void *arg)
{
    peer_t *p = arg;
    void *req = tu_socket (p->ctx, ZMQ_REQ);
    CHECK_OK (zmq_connect (req, p->endpoint), "client connects to frontend");
    for (int r = 0; r < REQUESTS; r++) {
        char request[64], expected[128];
        snprintf (request, sizeof request, "client%d-request%d", p->id, r);
        snprintf (expected, sizeof expected, "reply to %s", request);
        tu_send_str (req, request, 0, "client sends request");
        tu_recv_expect (req, expected, "client gets the matching reply");
    }
    CHECK_OK (zmq_close (req), "client close");
    return NULL;
}

static void *worker_main (void *arg)
{
    peer_t *p = arg;
    void *rep = tu_socket (p->ctx, ZMQ_REP);
    CHECK_OK (zmq_connect (rep, p->endpoint), "worker connects to backend");
    while (1) {
        zmq_pollitem_t items[1] = {{rep, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll (items, 1, 50);
        CHECK (rc >= 0, "worker zmq_poll");
        if (rc == 0) {
            if (__atomic_load_n (&stop_flag, __ATOMIC_SEQ_CST))
                break;
            continue;
        }
        char buf[128], out[256];
        tu_recv_str (rep, buf, sizeof buf, "worker receives request");
        CHECK (strncmp (buf, "client", 6) == 0, "worker request format");
        snprintf (out, sizeof out, "reply to %s", buf);
        tu_send_str (rep, out, 0, "worker sends reply");
    }
    CHECK_OK (zmq_close (rep), "worker close");
    return NULL;
}

/* Move one complete multipart message from `from` to `to`.
 * Returns the number of frames moved. */
static int forward_message (void *from, void *to)
{
    int frames = 0;
    while (1) {
        zmq_msg_t msg;
        CHECK_OK (zmq_msg_init (&msg), "broker msg init");
        CHECK_OK (zmq_msg_recv (&msg, from, 0), "broker recv frame");
        int more = zmq_msg_more (&msg);
        int rcvmore = 0;
        size_t sz = sizeof rcvmore;
        CHECK_OK (zmq_getsockopt (from, ZMQ_RCVMORE, &rcvmore, &sz),
                  "broker getsockopt RCVMORE");
        CHECK (rcvmore == more, "RCVMORE agrees with zmq_msg_more");
        CHECK_OK (zmq_msg_send (&msg, to, more ? ZMQ_SNDMORE : 0),
                  "broker send frame");
        frames++;
        if (!more)
            break;
    }
    return frames;
}

int main (void)
{
    tu_init (50);
    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");

    void *frontend = tu_socket (ctx, ZMQ_ROUTER);
    void *backend = tu_socket (ctx, ZMQ_DEALER);
    char front_ep[256], back_ep[256];
    tu_bind_ephemeral (frontend, "tcp", front_ep, sizeof front_ep);
    tu_bind_ephemeral (backend, "tcp", back_ep, sizeof back_ep);

    peer_t workers[WORKERS], clients[CLIENTS];
    pthread_t wt[WORKERS], ct[CLIENTS];
    for (int i = 0; i < WORKERS; i++) {
        workers[i].ctx = ctx;
        workers[i].id = i;
        workers[i].endpoint = back_ep;
        wt[i] = tu_thread_start (worker_main, &workers[i]);
    }
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].ctx = ctx;
        clients[i].id = i;
        clients[i].endpoint = front_ep;
        ct[i] = tu_thread_start (client_main, &clients[i]);
    }

    int requests = 0, replies = 0;
    int64_t deadline = tu_now_ms () + 30000;
    while (replies < CLIENTS * REQUESTS) {
        CHECK (tu_now_ms () < deadline, "broker finishes in time");
        zmq_pollitem_t items[2] = {{frontend, 0, ZMQ_POLLIN, 0},
                                   {backend, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll (items, 2, TU_TIMEOUT_MS);
        CHECK (rc > 0, "broker poll sees traffic before timeout");
        if (items[0].revents & ZMQ_POLLIN) {
            /* identity, empty delimiter, body */
            int frames = forward_message (frontend, backend);
            CHECK (frames == 3, "request through ROUTER has 3 frames");
            requests++;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            int frames = forward_message (backend, frontend);
            CHECK (frames == 3, "reply through DEALER has 3 frames");
            replies++;
        }
    }
    CHECK (requests == CLIENTS * REQUESTS, "broker saw every request");

    for (int i = 0; i < CLIENTS; i++)
        tu_thread_join (ct[i]);
    __atomic_store_n (&stop_flag, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < WORKERS; i++)
        tu_thread_join (wt[i]);

    CHECK_OK (zmq_close (frontend), "close frontend");
    CHECK_OK (zmq_close (backend), "close backend");
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    printf ("rrbroker: %d requests, %d replies: OK\n", requests, replies);
    return 0;
}
