/*
 * Pipeline with a kill signal: a ventilator PUSHes tasks to workers (PULL),
 * which PUSH results to a sink (PULL). When the sink has every result it
 * publishes KILL on a PUB socket; workers poll both their task PULL and a
 * SUB (subscribed to "KILL" only) and exit on KILL, saying BYE to the sink.
 *
 * A worker may join the control PUB late (slow joiner), so the sink repeats
 * KILL - along with a NOISE message no worker subscribes to - until every
 * worker has said BYE. Every task must be done exactly once, and no worker
 * may see NOISE or anything after its KILL.
 *
 * Usage: killpipeline [workers] [tasks]
 */
#include "ps_util.h"

#define MAX_WORKERS 16

typedef struct
{
    void *ctx;
    int id;
    const char *vent_ep, *sink_ep, *ctl_ep;
    int done;
} worker_t;

static void *worker_main (void *arg)
{
    worker_t *w = arg;
    void *pull = tu_socket (w->ctx, ZMQ_PULL);
    void *push = tu_socket (w->ctx, ZMQ_PUSH);
    void *ctl = tu_socket (w->ctx, ZMQ_SUB);
    CHECK_OK (zmq_connect (pull, w->vent_ep), "worker connects ventilator");
    CHECK_OK (zmq_connect (push, w->sink_ep), "worker connects sink");
    CHECK_OK (zmq_connect (ctl, w->ctl_ep), "worker connects controller");
    CHECK_OK (zmq_setsockopt (ctl, ZMQ_SUBSCRIBE, "KILL", 4),
              "worker subscribes to KILL");

    int64_t deadline = tu_now_ms () + 30000;
    while (1) {
        CHECK (tu_now_ms () < deadline, "worker killed in time");
        zmq_pollitem_t items[2] = {{pull, 0, ZMQ_POLLIN, 0},
                                   {ctl, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll (items, 2, 1000);
        CHECK (rc >= 0, "worker zmq_poll");
        char buf[64], out[64];
        if (items[0].revents & ZMQ_POLLIN) {
            int n = -1;
            tu_recv_str (pull, buf, sizeof buf, "worker receives a task");
            CHECK (sscanf (buf, "TASK %d", &n) == 1, "task format");
            snprintf (out, sizeof out, "RESULT %d %d", w->id, n * n);
            tu_send_str (push, out, 0, "worker sends a result");
            w->done++;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            tu_recv_expect (ctl, "KILL", "worker receives only KILL");
            break;
        }
    }
    CHECK (!ps_wait_in (pull, 0), "no task left when KILL arrives");
    char bye[32];
    snprintf (bye, sizeof bye, "BYE %d", w->id);
    tu_send_str (push, bye, 0, "worker says BYE");
    ps_close (pull);
    ps_close (push);
    ps_close (ctl);
    return NULL;
}

int main (int argc, char **argv)
{
    tu_init (50);
    int nworkers = argc > 1 ? atoi (argv[1]) : 3;
    int tasks = argc > 2 ? atoi (argv[2]) : 200;
    CHECK (nworkers > 0 && nworkers <= MAX_WORKERS && tasks > 0, "arguments");

    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");
    void *vent = tu_socket (ctx, ZMQ_PUSH);
    void *sink = tu_socket (ctx, ZMQ_PULL);
    void *ctl = tu_socket (ctx, ZMQ_PUB);
    char vent_ep[256], sink_ep[256], ctl_ep[256];
    tu_bind_ephemeral (vent, "tcp", vent_ep, sizeof vent_ep);
    tu_bind_ephemeral (sink, "tcp", sink_ep, sizeof sink_ep);
    tu_bind_ephemeral (ctl, "tcp", ctl_ep, sizeof ctl_ep);

    worker_t workers[MAX_WORKERS];
    pthread_t wt[MAX_WORKERS];
    for (int i = 0; i < nworkers; i++) {
        workers[i] = (worker_t){ctx, i, vent_ep, sink_ep, ctl_ep, 0};
        wt[i] = tu_thread_start (worker_main, &workers[i]);
    }

    /* Ventilator: PUSH blocks (up to SNDTIMEO) until a worker is there. */
    for (int n = 0; n < tasks; n++) {
        char buf[32];
        snprintf (buf, sizeof buf, "TASK %d", n);
        tu_send_str (vent, buf, 0, "ventilator sends a task");
    }

    /* Sink: collect one result per task (results carry n*n). */
    unsigned char *got = calloc ((size_t) tasks, 1);
    CHECK (got != NULL, "calloc");
    for (int i = 0; i < tasks; i++) {
        char buf[64];
        int w = -1, sq = -1;
        tu_recv_str (sink, buf, sizeof buf, "sink receives a result");
        CHECK (sscanf (buf, "RESULT %d %d", &w, &sq) == 2, "result format");
        CHECK (w >= 0 && w < nworkers, "result from a worker");
        int n = 0;
        while (n * n < sq)
            n++;
        CHECK (n < tasks && n * n == sq && !got[n], "each task done once");
        got[n] = 1;
    }
    free (got);

    /* Kill: repeat until every worker said BYE. */
    int byes = 0;
    int said_bye[MAX_WORKERS] = {0};
    int64_t deadline = tu_now_ms () + TU_TIMEOUT_MS;
    while (byes < nworkers) {
        CHECK (tu_now_ms () < deadline, "workers exit on KILL in time");
        tu_send_str (ctl, "NOISE", ZMQ_DONTWAIT, "controller sends noise");
        tu_send_str (ctl, "KILL", ZMQ_DONTWAIT, "controller sends KILL");
        if (ps_wait_in (sink, 10)) {
            char buf[64];
            int w = -1;
            tu_recv_str (sink, buf, sizeof buf, "sink receives BYE");
            CHECK (sscanf (buf, "BYE %d", &w) == 1 && w >= 0 && w < nworkers
                     && !said_bye[w],
                   "one BYE per worker, and nothing else after the results");
            said_bye[w] = 1;
            byes++;
        }
    }
    int total = 0;
    for (int i = 0; i < nworkers; i++) {
        tu_thread_join (wt[i]);
        printf ("worker %d did %d tasks\n", i, workers[i].done);
        total += workers[i].done;
    }
    CHECK (total == tasks, "tasks done in total");

    ps_close (vent);
    ps_close (sink);
    ps_close (ctl);
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    printf ("killpipeline: %d tasks, %d workers OK\n", tasks, nworkers);
    return 0;
}
