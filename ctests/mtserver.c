/*
 * Multithreaded server: a ROUTER frontend on tcp accepts REQ clients, a
 * DEALER backend bound on inproc feeds a pool of REP worker threads that
 * share the server's context. A hand-written zmq_poll loop is the queue.
 * The clients live in a second context, as if they were other processes.
 */
#include "testutil.h"

#define CLIENTS 4
#define REQUESTS 5
#define WORKERS 4

static int stop_flag = 0;
static int worker_counts[WORKERS];

typedef struct
{
    void *ctx;
    int id;
    const char *endpoint;
} peer_t;

static void *worker_main (void *arg)
{
    peer_t *p = arg;
    void *rep = tu_socket (p->ctx, ZMQ_REP);
    CHECK_OK (zmq_connect (rep, p->endpoint), "worker connects over inproc");
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
        tu_sleep_ms (1); /* do some "work" */
        snprintf (out, sizeof out, "%s done", buf);
        tu_send_str (rep, out, 0, "worker replies");
        worker_counts[p->id]++;
    }
    CHECK_OK (zmq_close (rep), "worker close");
    return NULL;
}

static void *client_main (void *arg)
{
    peer_t *p = arg;
    void *req = tu_socket (p->ctx, ZMQ_REQ);
    CHECK_OK (zmq_connect (req, p->endpoint), "client connects over tcp");
    for (int r = 0; r < REQUESTS; r++) {
        char request[64], expected[128];
        snprintf (request, sizeof request, "job %d.%d", p->id, r);
        snprintf (expected, sizeof expected, "%s done", request);
        tu_send_str (req, request, 0, "client sends job");
        tu_recv_expect (req, expected, "client receives its own result");
    }
    CHECK_OK (zmq_close (req), "client close");
    return NULL;
}

static void relay (void *from, void *to, const char *what)
{
    while (1) {
        zmq_msg_t msg;
        CHECK_OK (zmq_msg_init (&msg), what);
        CHECK_OK (zmq_msg_recv (&msg, from, 0), what);
        int more = zmq_msg_more (&msg);
        CHECK_OK (zmq_msg_send (&msg, to, more ? ZMQ_SNDMORE : 0), what);
        if (!more)
            break;
    }
}

int main (void)
{
    tu_init (50);
    void *server_ctx = zmq_ctx_new ();
    void *client_ctx = zmq_ctx_new ();
    CHECK (server_ctx != NULL && client_ctx != NULL, "zmq_ctx_new");
    CHECK (server_ctx != client_ctx, "two distinct contexts");

    void *clients_sock = tu_socket (server_ctx, ZMQ_ROUTER);
    void *workers_sock = tu_socket (server_ctx, ZMQ_DEALER);
    char front_ep[256], back_ep[256];
    tu_bind_ephemeral (clients_sock, "tcp", front_ep, sizeof front_ep);
    tu_bind_ephemeral (workers_sock, "inproc", back_ep, sizeof back_ep);

    peer_t workers[WORKERS], clients[CLIENTS];
    pthread_t wt[WORKERS], ct[CLIENTS];
    for (int i = 0; i < WORKERS; i++) {
        workers[i] = (peer_t){server_ctx, i, back_ep};
        wt[i] = tu_thread_start (worker_main, &workers[i]);
    }
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = (peer_t){client_ctx, i, front_ep};
        ct[i] = tu_thread_start (client_main, &clients[i]);
    }

    int replies = 0;
    int64_t deadline = tu_now_ms () + 30000;
    while (replies < CLIENTS * REQUESTS) {
        CHECK (tu_now_ms () < deadline, "queue finishes in time");
        zmq_pollitem_t items[2] = {{clients_sock, 0, ZMQ_POLLIN, 0},
                                   {workers_sock, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll (items, 2, TU_TIMEOUT_MS);
        CHECK (rc > 0, "queue poll sees traffic before timeout");
        if (items[0].revents & ZMQ_POLLIN)
            relay (clients_sock, workers_sock, "queue frontend->backend");
        if (items[1].revents & ZMQ_POLLIN) {
            relay (workers_sock, clients_sock, "queue backend->frontend");
            replies++;
        }
    }

    for (int i = 0; i < CLIENTS; i++)
        tu_thread_join (ct[i]);
    __atomic_store_n (&stop_flag, 1, __ATOMIC_SEQ_CST);
    int total = 0;
    for (int i = 0; i < WORKERS; i++) {
        tu_thread_join (wt[i]);
        printf ("worker %d served %d requests\n", i, worker_counts[i]);
        total += worker_counts[i];
    }
    CHECK (total == CLIENTS * REQUESTS, "workers served every request");

    CHECK_OK (zmq_close (clients_sock), "close frontend");
    CHECK_OK (zmq_close (workers_sock), "close backend");
    CHECK_OK (zmq_ctx_term (client_ctx), "term client context");
    CHECK_OK (zmq_ctx_term (server_ctx), "term server context");
    printf ("mtserver: %d replies: OK\n", replies);
    return 0;
}
