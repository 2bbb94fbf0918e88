/*
 * PAIR relay between threads over inproc: step 1 signals step 2, which then
 * signals step 3 (the main thread). Each hop checks the signal it received.
 */
#include "testutil.h"

typedef struct
{
    void *ctx;
    char step2_ep[128];
    char step3_ep[128];
} relay_t;

static void *step1 (void *arg)
{
    relay_t *r = arg;
    void *pair = tu_socket (r->ctx, ZMQ_PAIR);
    /* closes right after sending: let linger cover the pending message */
    tu_set_int (pair, ZMQ_LINGER, TU_TIMEOUT_MS, "step1 LINGER");
    CHECK_OK (zmq_connect (pair, r->step2_ep), "step1 connects to step2");
    tu_send_str (pair, "step1 ready", 0, "step1 signals");
    CHECK_OK (zmq_close (pair), "step1 close");
    return NULL;
}

static void *step2 (void *arg)
{
    relay_t *r = arg;
    /* Bind before starting step 1 so that its connect finds us. */
    void *receiver = tu_socket (r->ctx, ZMQ_PAIR);
    CHECK_OK (zmq_bind (receiver, r->step2_ep), "step2 binds");
    pthread_t t = tu_thread_start (step1, r);

    tu_recv_expect (receiver, "step1 ready", "step2 gets step1's signal");
    tu_thread_join (t);
    CHECK_OK (zmq_close (receiver), "step2 close receiver");

    void *sender = tu_socket (r->ctx, ZMQ_PAIR);
    tu_set_int (sender, ZMQ_LINGER, TU_TIMEOUT_MS, "step2 LINGER");
    CHECK_OK (zmq_connect (sender, r->step3_ep), "step2 connects to step3");
    /* Two frames: the relay also carries multipart signals intact. */
    tu_send_str (sender, "step2 ready", ZMQ_SNDMORE, "step2 signals part 1");
    tu_send_str (sender, "after step1", 0, "step2 signals part 2");
    CHECK_OK (zmq_close (sender), "step2 close sender");
    return NULL;
}

int main (void)
{
    tu_init (50);
    relay_t r;
    r.ctx = zmq_ctx_new ();
    CHECK (r.ctx != NULL, "zmq_ctx_new");
    tu_make_endpoint ("inproc", r.step2_ep, sizeof r.step2_ep);
    tu_make_endpoint ("inproc", r.step3_ep, sizeof r.step3_ep);

    void *receiver = tu_socket (r.ctx, ZMQ_PAIR);
    CHECK_OK (zmq_bind (receiver, r.step3_ep), "step3 binds");
    pthread_t t = tu_thread_start (step2, &r);

    tu_recv_expect (receiver, "step2 ready", "step3 gets step2's signal");
    int more = 0;
    size_t sz = sizeof more;
    CHECK_OK (zmq_getsockopt (receiver, ZMQ_RCVMORE, &more, &sz),
              "getsockopt RCVMORE");
    CHECK (more == 1, "signal has a second part");
    tu_recv_expect (receiver, "after step1", "step3 gets part 2");
    CHECK_OK (zmq_getsockopt (receiver, ZMQ_RCVMORE, &more, &sz),
              "getsockopt RCVMORE");
    CHECK (more == 0, "signal ends after part 2");
    printf ("test successful: step1 -> step2 -> step3\n");

    tu_thread_join (t);
    CHECK_OK (zmq_close (receiver), "step3 close");
    CHECK_OK (zmq_ctx_term (r.ctx), "zmq_ctx_term");
    return 0;
}
