/*
 * connrate: legitimate TCP connects per second against an echo server, for the SYN-flood benchmark.
 *
 *   connrate rate  HOST PORT SECONDS [TIMEOUT_MS]
 *   connrate first HOST PORT [GIVE_UP_SECONDS]
 *
 * rate: for SECONDS, one connection after another: non-blocking connect (a failure if it has not completed
 * within TIMEOUT_MS, default 3000: the kernel's first SYN retransmission comes after 1 s, its second after
 * 3 s), one byte written and echoed, close with SO_LINGER 0 (no TIME-WAIT on the client: ports are reused).
 * Prints
 *
 *   CONNRATE ok N failed F in T s: R connects/s, connect p50 A ms p99 B ms max C ms
 *
 * first: tries until one connection (connect and echo) succeeds, each try with a 1 s connect timeout, and
 * prints the time from the start to that success:
 *
 *   CONNFIRST ok after T s (K tries)
 *
 * Exit status 0 when no connect failed (rate) or one succeeded (first). Build: gcc -O2 -o connrate connrate.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* One connection: connect within timeout_ms, echo one byte, close. Returns the connect time in s or -1. */
static double one(const struct sockaddr_in *to, int timeout_ms, char *why, size_t whylen) {
    double t0 = now();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(why, whylen, "socket: %s", strerror(errno));
        return -1;
    }
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    int one_ = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof one_);
    double result = -1;
    if (connect(fd, (const struct sockaddr *) to, sizeof *to) != 0 && errno != EINPROGRESS) {
        snprintf(why, whylen, "connect: %s", strerror(errno));
        goto out;
    }
    struct pollfd p = {fd, POLLOUT, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r == 0) {
        snprintf(why, whylen, "connect timed out after %d ms", timeout_ms);
        goto out;
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (r < 0 || err != 0) {
        snprintf(why, whylen, "connect: %s", strerror(r < 0 ? errno : err));
        goto out;
    }
    double connected = now() - t0;
    char c = 'x';
    if (write(fd, &c, 1) != 1) {
        snprintf(why, whylen, "write: %s", strerror(errno));
        goto out;
    }
    p.events = POLLIN;
    if (poll(&p, 1, 5000) != 1 || read(fd, &c, 1) != 1 || c != 'x') {
        snprintf(why, whylen, "no echo within 5 s");
        goto out;
    }
    result = connected;
out:
    close(fd);
    return result;
}

int main(int argc, char **argv) {
    if (argc < 4 || (strcmp(argv[1], "rate") != 0 && strcmp(argv[1], "first") != 0)
        || (strcmp(argv[1], "rate") == 0 && argc < 5)) {
        fprintf(stderr, "usage: %s rate HOST PORT SECONDS [TIMEOUT_MS]\n       %s first HOST PORT [GIVE_UP_SECONDS]\n",
                argv[0], argv[0]);
        return 2;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short) atoi(argv[3]))};
    if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1) {
        fprintf(stderr, "connrate: bad address %s\n", argv[2]);
        return 2;
    }
    char why[128];
    if (strcmp(argv[1], "first") == 0) {
        double give_up = argc > 4 ? atof(argv[4]) : 300, t0 = now();
        for (long tries = 1;; tries++) {
            if (one(&to, 1000, why, sizeof why) >= 0) {
                printf("CONNFIRST ok after %.3f s (%ld tries)\n", now() - t0, tries);
                return 0;
            }
            if (now() - t0 > give_up) {
                printf("CONNFIRST failed: no connect within %.0f s (%ld tries; last: %s)\n", give_up, tries, why);
                return 1;
            }
        }
    }
    double seconds = atof(argv[4]);
    int timeout_ms = argc > 5 ? atoi(argv[5]) : 3000;
    size_t cap = 1 << 16, n = 0;
    double *times = malloc(cap * sizeof *times);
    long failed = 0;
    double t0 = now(), end = t0 + seconds;
    while (now() < end) {
        double t = one(&to, timeout_ms, why, sizeof why);
        if (t < 0) {
            if (failed++ < 5) {
                fprintf(stderr, "connrate: %s\n", why);
            }
            continue;
        }
        if (n == cap) {
            cap *= 2;
            times = realloc(times, cap * sizeof *times);
        }
        times[n++] = t;
    }
    double dt = now() - t0;
    qsort(times, n, sizeof *times, cmp_double);
    double p50 = n ? times[n / 2] : 0, p99 = n ? times[(size_t) (n * 0.99)] : 0, max = n ? times[n - 1] : 0;
    printf("CONNRATE ok %zu failed %ld in %.2f s: %.0f connects/s, connect p50 %.2f ms p99 %.2f ms max %.2f ms\n",
           n, failed, dt, n / dt, p50 * 1e3, p99 * 1e3, max * 1e3);
    free(times);
    return failed == 0 && n > 0 ? 0 : 1;
}
