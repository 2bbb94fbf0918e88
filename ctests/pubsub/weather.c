/*
 * Weather updates: a PUB server streams "zip temperature humidity seq"
 * updates for a hundred zip codes (plus decoys whose zip merely starts with
 * a client's digits); SUB clients filter on "<zip> " and average N updates.
 *
 * The server publishes until every client has its N updates, so no join
 * synchronisation is needed: a late subscriber just misses the first ones.
 * Every update a client receives must carry its own zip (and nothing else),
 * its values must be the ones the server computed for that zip and sequence
 * number, and sequence numbers must increase.
 *
 * Usage: weather [updates-per-client]
 */
#include "ps_util.h"

#define CLIENTS 2
#define ZIP_BASE 10000
#define ZIP_COUNT 100

static int updates_wanted = 100;
static int clients_done = 0;

/* The value the server publishes for a zip's seq-th update. */
static int temperature_of (int zip, unsigned seq)
{
    return (int) ((seq * 37u + (unsigned) zip) % 215u) - 80;
}

static int humidity_of (int zip, unsigned seq)
{
    return (int) ((seq * 11u + (unsigned) zip) % 50u) + 10;
}

typedef struct
{
    void *ctx;
    const char *endpoint;
    int zip;
    double average;
    int received;
} client_t;

typedef struct
{
    void *pub;
    long sent;
    long decoys;
} server_t;

static void *server_main (void *arg)
{
    server_t *s = arg;
    unsigned seq[ZIP_COUNT] = {0};
    unsigned rng = 12345;
    int64_t deadline = tu_now_ms () + 30000;
    while (PS_LOAD (&clients_done) < CLIENTS) {
        CHECK (tu_now_ms () < deadline, "clients get their updates in time");
        char update[64];
        rng = rng * 1103515245u + 12345u;
        int idx = (int) ((rng >> 8) % ZIP_COUNT);
        if ((rng >> 20) % 8 == 0) {
            /* Decoy: a six-digit zip such as 100011 starts with "10001"
             * but must not pass the filter "10001 ". */
            snprintf (update, sizeof update, "%d %d %d %u",
                      (ZIP_BASE + idx) * 10 + 1, 999, 999, 0u);
            s->decoys++;
        } else {
            int zip = ZIP_BASE + idx;
            unsigned n = seq[idx]++;
            snprintf (update, sizeof update, "%05d %d %d %u", zip,
                      temperature_of (zip, n), humidity_of (zip, n), n);
        }
        int rc = zmq_send (s->pub, update, strlen (update), 0);
        CHECK (rc == (int) strlen (update), "server publishes an update");
        s->sent++;
    }
    return NULL;
}

static void *client_main (void *arg)
{
    client_t *c = arg;
    void *sub = tu_socket (c->ctx, ZMQ_SUB);
    CHECK_OK (zmq_connect (sub, c->endpoint), "client connects");
    char filter[16];
    snprintf (filter, sizeof filter, "%05d ", c->zip);
    CHECK_OK (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, filter, strlen (filter)),
              "client subscribes to its zip");

    long total_temp = 0;
    long expected_total = 0;
    long last_seq = -1;
    for (int i = 0; i < updates_wanted; i++) {
        char buf[64];
        tu_recv_str (sub, buf, sizeof buf, "client receives an update");
        CHECK (strncmp (buf, filter, strlen (filter)) == 0,
               "update starts with the subscribed zip and a space");
        int zip, temp, hum;
        unsigned seq;
        CHECK (sscanf (buf, "%d %d %d %u", &zip, &temp, &hum, &seq) == 4,
               "update format");
        if (zip != c->zip)
            fprintf (stderr, "client %d got \"%s\"\n", c->zip, buf);
        CHECK (zip == c->zip, "client only ever receives its own zip");
        CHECK (temp == temperature_of (zip, seq), "temperature intact");
        CHECK (hum == humidity_of (zip, seq), "humidity intact");
        CHECK ((long) seq > last_seq, "updates arrive in order");
        last_seq = seq;
        total_temp += temp;
        expected_total += temperature_of (c->zip, seq);
    }
    CHECK (total_temp == expected_total, "sum of temperatures");
    c->average = (double) total_temp / updates_wanted;
    c->received = updates_wanted;
    CHECK (c->average >= -80.0 && c->average <= 134.0, "average in range");
    PS_INC (&clients_done);
    /* Stay subscribed a little longer while the server keeps publishing:
     * whatever still arrives must be for this zip too. */
    while (ps_wait_in (sub, 0)) {
        char buf[64];
        tu_recv_str (sub, buf, sizeof buf, "client drains");
        CHECK (strncmp (buf, filter, strlen (filter)) == 0,
               "late update is for the subscribed zip");
    }
    ps_close (sub);
    return NULL;
}

int main (int argc, char **argv)
{
    tu_init (50);
    if (argc > 1)
        updates_wanted = atoi (argv[1]);
    CHECK (updates_wanted > 0, "updates count");

    void *ctx = zmq_ctx_new ();
    CHECK (ctx != NULL, "zmq_ctx_new");
    server_t server = {tu_socket (ctx, ZMQ_PUB), 0, 0};
    char tcp_ep[256], ipc_ep[256];
    tu_bind_ephemeral (server.pub, "tcp", tcp_ep, sizeof tcp_ep);
    tu_bind_ephemeral (server.pub, "ipc", ipc_ep, sizeof ipc_ep);

    client_t clients[CLIENTS] = {{ctx, tcp_ep, 10001, 0, 0},
                                 {ctx, ipc_ep, 10042, 0, 0}};
    pthread_t ct[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        ct[i] = tu_thread_start (client_main, &clients[i]);
    pthread_t st = tu_thread_start (server_main, &server);

    for (int i = 0; i < CLIENTS; i++)
        tu_thread_join (ct[i]);
    tu_thread_join (st);

    for (int i = 0; i < CLIENTS; i++) {
        CHECK (clients[i].received == updates_wanted, "client finished");
        printf ("average temperature for zip %05d over %d updates: %.1fF\n",
                clients[i].zip, updates_wanted, clients[i].average);
    }
    CHECK (server.sent > 2L * updates_wanted, "server published other zips");
    CHECK (server.decoys > 0, "server published decoys");
    printf ("server published %ld updates (%ld decoys)\n", server.sent,
            server.decoys);

    ps_close (server.pub);
    tu_cleanup_endpoint (ipc_ep);
    CHECK_OK (zmq_ctx_term (ctx), "zmq_ctx_term");
    printf ("weather: OK\n");
    return 0;
}
