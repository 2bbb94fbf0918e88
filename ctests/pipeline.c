/*
 * Divide-and-conquer pipeline: a ventilator PUSHes 100 tasks to N workers
 * (PULL -> PUSH), which forward a result for each task to a sink (PULL).
 * Usage: pipeline <workers>
 *
 * Before the batch starts, the ventilator makes sure every worker is really
 * attached: it keeps sending PING messages (non-blocking) until every worker
 * has answered one through the sink. Only a worker whose pipe is attached to
 * the ventilator can receive a ping, so after that round the batch's
 * round-robin spreads over all N workers.
 */
#include "testutil.h"

#define TASKS 100
#define MAX_WORKERS 16

typedef struct
{
    void *ctx;
    int id;
    const char *vent_ep;
    const char *sink_ep;
    int done;
} worker_t;

static int stop_flag = 0;

static void *worker_main (void *arg)
{
    worker_t *w = arg;
    void *pull = tu_socket (w->ctx, ZMQ_PULL);
    void *push = tu_socket (w->ctx, ZMQ_PUSH);
    CHECK_OK (zmq_connect (pull, w->vent_ep), "worker connects to ventilator");
    CHECK_OK (zmq_connect (push, w->sink_ep), "worker connects to sink");

    while (1) {
        zmq_pollitem_t items[1] = {{pull, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll (items, 1, 50);
        CHECK (rc >= 0, "worker zmq_poll");
        if (rc == 0) {
            if (__atomic_load_n (&stop_flag, __ATOMIC_SEQ_CST))
                break;
            continue;
        }
        CHECK (items[0].revents & ZMQ_POLLIN, "worker poll reports POLLIN");
        char buf[64];
        tu_recv_str (pull, buf, sizeof buf, "worker receives task");
        char out[64];
        if (strcmp (buf, "PING") == 0) {
            snprintf (out, sizeof out, "READY %d", w->id);
        } else {
            int task = -1;
            CHECK (sscanf (buf, "TASK %d", &task) == 1, "task format");
            /* "work": 1 ms per task */
            tu_sleep_ms (1);
            w->done++;
            snprintf (out, sizeof out, "RESULT %d %d", w->id, task);
        }
        tu_send_str (push, out, 0, "worker sends to sink");
    }
    CHECK_OK (zmq_close (pull), "worker close pull");
    CHECK_OK (zmq_close (push), "worker close push");
    return NULL;
}

int main (int argc, char **argv)
{
    tu_init (50);
    int nworkers = argc > 1 ? atoi (argv[1]) : 1;
    CHECK (nworkers >= 1 && nworkers <= MAX_WORKERS, "worker count in range");

    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");

    void *vent = tu_socket (ctx, ZMQ_PUSH);
    void *sink = tu_socket (ctx, ZMQ_PULL);
    char vent_ep[256], sink_ep[256];
    tu_bind_ephemeral (vent, "tcp", vent_ep, sizeof vent_ep);
    tu_bind_ephemeral (sink, "tcp", sink_ep, sizeof sink_ep);

    worker_t workers[MAX_WORKERS];
    pthread_t threads[MAX_WORKERS];
    for (int i = 0; i < nworkers; i++) {
        workers[i].ctx = ctx;
        workers[i].id = i;
        workers[i].vent_ep = vent_ep;
        workers[i].sink_ep = sink_ep;
        workers[i].done = 0;
        threads[i] = tu_thread_start (worker_main, &workers[i]);
    }

    /* Synchronisation round: ping until every worker said READY. */
    int ready[MAX_WORKERS] = {0};
    int nready = 0;
    int pings = 0;
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    while (nready < nworkers) {
        CHECK (tu_now_ms () < deadline, "all workers attach within timeout");
        int rc = zmq_send (vent, "PING", 4, ZMQ_DONTWAIT);
        CHECK (rc == 4 || (rc == -1 && errno == EAGAIN),
               "ping send ok or EAGAIN");
        if (rc == 4)
            pings++;
        zmq_pollitem_t items[1] = {{sink, 0, ZMQ_POLLIN, 0}};
        CHECK (zmq_poll (items, 1, 20) >= 0, "sync zmq_poll");
        while (1) {
            char buf[64];
            int n = zmq_recv (sink, buf, sizeof buf - 1, ZMQ_DONTWAIT);
            if (n == -1) {
                CHECK (errno == EAGAIN, "sink drain EAGAIN");
                break;
            }
            buf[n] = '\0';
            int id = -1;
            CHECK (sscanf (buf, "READY %d", &id) == 1, "sync message format");
            CHECK (id >= 0 && id < nworkers, "sync worker id in range");
            if (!ready[id]) {
                ready[id] = 1;
                nready++;
            }
        }
    }
    printf ("all %d workers attached after %d pings\n", nworkers, pings);

    /* The batch. */
    for (int t = 0; t < TASKS; t++) {
        char buf[64];
        snprintf (buf, sizeof buf, "TASK %d", t);
        tu_send_str (vent, buf, 0, "ventilator sends task");
    }

    /* The sink collects every result (late READY answers are ignored). */
    int seen[TASKS] = {0};
    int per_worker[MAX_WORKERS] = {0};
    int results = 0;
    while (results < TASKS) {
        char buf[64];
        tu_recv_str (sink, buf, sizeof buf, "sink receives a result");
        int id = -1, task = -1;
        if (sscanf (buf, "READY %d", &id) == 1)
            continue;
        CHECK (sscanf (buf, "RESULT %d %d", &id, &task) == 2,
               "result message format");
        CHECK (id >= 0 && id < nworkers, "result worker id in range");
        CHECK (task >= 0 && task < TASKS, "result task id in range");
        CHECK (seen[task] == 0, "each task result arrives exactly once");
        seen[task] = 1;
        per_worker[id]++;
        results++;
    }

    __atomic_store_n (&stop_flag, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < nworkers; i++)
        tu_thread_join (threads[i]);

    int total = 0;
    for (int i = 0; i < nworkers; i++) {
        printf ("worker %d processed %d tasks\n", i, per_worker[i]);
        CHECK (per_worker[i] == workers[i].done,
               "sink count matches worker's own count");
        if (nworkers > 1)
            CHECK (per_worker[i] >= 1, "work is spread over every worker");
        total += per_worker[i];
    }
    CHECK (total == TASKS, "all 100 results arrived at the sink");

    CHECK_OK (zmq_close (vent), "close ventilator");
    CHECK_OK (zmq_close (sink), "close sink");
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    printf ("pipeline with %d workers: OK\n", nworkers);
    return 0;
}
