/*  tcp_baseline <message-size> <message-count> [tcp|ipc]

    The ceiling ZeroMQ is measured against: a plain writer/reader pair without ZeroMQ. A
    child process connects over TCP loopback (127.0.0.1, an ephemeral port) and writes
    <message-count> blocks of <message-size> bytes with write(2); the parent reads the byte
    stream with a buffer of max(<message-size>, 64 KiB) and prints the same lines as
    local_thr, timed from the first byte read to the last. With "ipc" the pair is a Unix
    stream socket instead. It uses no framing at all, so it is the upper bound for
    local_thr/remote_thr with large messages. Does not link libzmq. */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "usage: tcp_baseline <message-size> <message-count> [tcp|ipc]\n";

static void fail (const char *what_)
{
    printf ("error in %s: %s\n", what_, strerror (errno));
    fflush (stdout);
    exit (1);
}

static double now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static void write_all (int fd_, const char *buf_, size_t len_)
{
    while (len_ > 0) {
        ssize_t n = write (fd_, buf_, len_);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail ("write");
        }
        buf_ += n;
        len_ -= (size_t) n;
    }
}

static void writer (int fd_, size_t size_, long count_)
{
    char *buf = malloc (size_ ? size_ : 1);
    long i;
    if (!buf)
        fail ("malloc");
    memset (buf, 'x', size_);
    for (i = 0; i != count_; i++)
        write_all (fd_, buf, size_);
    free (buf);
    close (fd_);
}

int main (int argc, char *argv[])
{
    size_t size, bufsize;
    long count;
    unsigned long long total, got = 0;
    int use_unix = 0, fds[2], lfd = -1, rfd, one = 1, status;
    pid_t pid;
    char *buf;
    double start = 0;
    unsigned long elapsed, throughput;
    double megabits;

    if (argc != 3 && argc != 4) {
        printf ("%s", usage);
        return 1;
    }
    size = (size_t) atol (argv[1]);
    count = atol (argv[2]);
    if (argc == 4) {
        if (strcmp (argv[3], "ipc") == 0)
            use_unix = 1;
        else if (strcmp (argv[3], "tcp") != 0) {
            printf ("%s", usage);
            return 1;
        }
    }
    if (count < 1) {
        printf ("%s", usage);
        return 1;
    }
    total = (unsigned long long) size * (unsigned long long) count;
    signal (SIGPIPE, SIG_IGN);

    if (use_unix) {
        if (socketpair (AF_UNIX, SOCK_STREAM, 0, fds) != 0)
            fail ("socketpair");
        pid = fork ();
        if (pid < 0)
            fail ("fork");
        if (pid == 0) {
            close (fds[0]);
            writer (fds[1], size, count);
            _exit (0);
        }
        close (fds[1]);
        rfd = fds[0];
    } else {
        struct sockaddr_in addr;
        socklen_t len = sizeof addr;
        memset (&addr, 0, sizeof addr);
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        addr.sin_port = 0;
        lfd = socket (AF_INET, SOCK_STREAM, 0);
        if (lfd < 0)
            fail ("socket");
        if (bind (lfd, (struct sockaddr *) &addr, sizeof addr) != 0)
            fail ("bind");
        if (listen (lfd, 1) != 0)
            fail ("listen");
        if (getsockname (lfd, (struct sockaddr *) &addr, &len) != 0)
            fail ("getsockname");
        pid = fork ();
        if (pid < 0)
            fail ("fork");
        if (pid == 0) {
            int cfd = socket (AF_INET, SOCK_STREAM, 0);
            close (lfd);
            if (cfd < 0)
                fail ("socket");
            setsockopt (cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (connect (cfd, (struct sockaddr *) &addr, sizeof addr) != 0)
                fail ("connect");
            writer (cfd, size, count);
            _exit (0);
        }
        rfd = accept (lfd, NULL, NULL);
        if (rfd < 0)
            fail ("accept");
        close (lfd);
    }

    bufsize = size > 65536 ? size : 65536;
    buf = malloc (bufsize);
    if (!buf)
        fail ("malloc");
    while (got < total) {
        ssize_t n = read (rfd, buf, bufsize);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail ("read");
        }
        if (n == 0)
            break;
        if (got == 0)
            start = now_us ();
        got += (unsigned long long) n;
    }
    elapsed = total == 0 ? 1 : (unsigned long) (now_us () - start);
    if (elapsed == 0)
        elapsed = 1;
    close (rfd);
    free (buf);
    if (waitpid (pid, &status, 0) < 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0) {
        printf ("writer failed\n");
        return 1;
    }
    if (got != total) {
        printf ("short stream: %llu of %llu bytes\n", got, total);
        return 1;
    }

    throughput = (unsigned long) ((double) count / (double) elapsed * 1000000);
    megabits = (double) (throughput * size * 8) / 1000000;
    printf ("message size: %d [B]\n", (int) size);
    printf ("message count: %d\n", (int) count);
    printf ("mean throughput: %d [msg/s]\n", (int) throughput);
    printf ("mean throughput: %.3f [Mb/s]\n", megabits);
    return 0;
}
