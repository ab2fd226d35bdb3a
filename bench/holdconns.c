/*
 * holdconns: opens many TCP connections to an echo server from several local source addresses, echoes a few bytes
 * on each, and keeps them open and idle until told what to do next (issue #12: 100,000 concurrent connections).
 *
 *   holdconns HOST PORT FIRST N SIZE WINDOW SOURCE[,SOURCE...]
 *
 * The connections are numbered FIRST to FIRST + N - 1, so that several processes (each limited by RLIMIT_NOFILE)
 * can share one run without two connections sending the same bytes. Connection i is bound to SOURCE number
 * i % (number of sources) (IP_BIND_ADDRESS_NO_PORT: the kernel picks the port at connect time, per four-tuple, so
 * each source address has the whole ip_local_port_range towards the server). At most WINDOW connections are
 * connecting, echoing or closing at a time. Every connection sends SIZE bytes (at least 8, at most 4096) and must
 * get exactly them back: a pattern made of the connection's number and the pass, so that data delivered on the
 * wrong connection is caught.
 *
 * After the opening pass it prints its figures and "ready", then reads commands, one a line, on standard input:
 *   echo      one more pass: SIZE bytes echoed on every connection; prints echoed, echo_s, ready
 *   close     closes every connection: sends its FIN (shutdown), waits for the server's (EOF; data or a reset
 *             instead is an error), then closes the socket; prints closed, close_s and exits
 *   closeall  closes every socket at once, as fast as it can (the kernel sends the FINs and finishes the closes on
 *             its own); prints closed, close_s and exits
 * End of input does what closeall does. While the connections are idle, any event on one of them (data, EOF, a
 * reset) is an error. Output: "NAME VALUE" lines (established, sources, open_s, ...), flushed at each "ready".
 *
 * Exit status: 0 when everything was echoed intact; 1 on any error (a failed system call, a refused or reset
 * connection, an early EOF, wrong or surplus bytes, no progress for 30 s), the reason on stderr; 2 on a usage error.
 * Raises RLIMIT_NOFILE to N + 64 (beyond the hard limit only with CAP_SYS_RESOURCE; without it, run several
 * processes with fewer connections each).
 *
 * Build: gcc -O2 -o holdconns holdconns.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* No progress for this long is an error (covers the kernel's SYN retransmissions at 1, 3, 7 and 15 s). */
#define STALL_MS 30000
#define MAX_SIZE 4096
#define MAX_SOURCES 64

enum state { UNUSED, CONNECTING, ECHOING, IDLE, CLOSING };
enum pass_kind { OPEN, ECHO, CLOSE };

struct conn {
    int fd;
    unsigned char state;
    uint16_t got; /* bytes of the current echo read back */
};

static struct conn *conns;
static int first, n, size, window, nsources;
static struct sockaddr_in server;
static struct sockaddr_in sources[MAX_SOURCES];
static int ep;
static int pass; /* 0 for the opening pass */
static enum pass_kind kind;

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "holdconns: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stdout);
    exit(1);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The bytes connection i sends in pass p: its number and the pass, then a pattern of both. */
static void payload(int i, int p, unsigned char *out) {
    uint32_t a = (uint32_t) i, b = (uint32_t) p;
    memcpy(out, &a, 4);
    memcpy(out + 4, &b, 4);
    for (int k = 8; k < size; k++) {
        out[k] = (unsigned char) (i * 131 + p * 71 + k * 13);
    }
}

static void watch(int i, uint32_t events, int op) {
    struct epoll_event ev = {.events = events, .data.u32 = (uint32_t) i};
    if (epoll_ctl(ep, op, conns[i].fd, &ev) != 0) {
        fail("epoll_ctl: %s", strerror(errno));
    }
}

static void start_connect(int i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail("socket %d: %s", first + i, strerror(errno));
    }
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0
            || setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) != 0) {
        fail("setsockopt: %s", strerror(errno));
    }
    if (bind(fd, (struct sockaddr *) &sources[(first + i) % nsources], sizeof sources[0]) != 0) {
        fail("bind connection %d to its source address: %s", first + i, strerror(errno));
    }
    if (connect(fd, (struct sockaddr *) &server, sizeof server) != 0 && errno != EINPROGRESS) {
        fail("connect %d: %s", first + i, strerror(errno));
    }
    conns[i].fd = fd;
    conns[i].state = CONNECTING;
    watch(i, EPOLLOUT, EPOLL_CTL_ADD);
}

static void send_echo(int i) {
    unsigned char buf[MAX_SIZE];
    payload(first + i, pass, buf);
    ssize_t w = write(conns[i].fd, buf, size); /* a few bytes into an empty send buffer: all or an error */
    if (w != size) {
        fail("connection %d pass %d: write returned %zd: %s", first + i, pass, w, w < 0 ? strerror(errno) : "short");
    }
    conns[i].state = ECHOING;
    conns[i].got = 0;
}

/* Handles an event on connection i; returns 1 when its echo is complete. */
static int on_event(int i, uint32_t events) {
    struct conn *c = &conns[i];
    if (c->state == CLOSING) {
        unsigned char b[1];
        ssize_t r = read(c->fd, b, 1);
        if (r != 0) {
            fail("connection %d: %s instead of the server's FIN after ours", first + i,
                 r > 0 ? "data" : strerror(errno));
        }
        close(c->fd);
        c->state = UNUSED;
        return 1;
    }
    if (c->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            fail("connect %d: %s", first + i, strerror(err ? err : errno));
        }
        watch(i, EPOLLIN, EPOLL_CTL_MOD);
        send_echo(i);
        return 0;
    }
    unsigned char want[MAX_SIZE], buf[MAX_SIZE + 1];
    ssize_t r = read(c->fd, buf, sizeof buf);
    if (r < 0) {
        fail("connection %d pass %d: read: %s", first + i, pass, strerror(errno));
    }
    if (c->state != ECHOING) {
        fail("connection %d: %s while idle (events %#x)", first + i, r == 0 ? "EOF" : "data", events);
    }
    if (r == 0) {
        fail("connection %d pass %d: EOF after %d of %d bytes", first + i, pass, c->got, size);
    }
    if (c->got + r > size) {
        fail("connection %d pass %d: %zd bytes more than were sent", first + i, pass, c->got + r - size);
    }
    payload(first + i, pass, want);
    if (memcmp(buf, want + c->got, r) != 0) {
        fail("connection %d pass %d: the echo differs from what was sent", first + i, pass);
    }
    c->got += r;
    if (c->got < size) {
        return 0;
    }
    c->state = IDLE;
    return 1;
}

/*
 * Runs one pass over every connection, at most `window` at a time: OPEN connects and echoes, ECHO echoes, CLOSE
 * sends our FIN (shutdown) and waits for the server's (EOF) before it closes the socket.
 */
static void run_pass(void) {
    struct epoll_event evs[1024];
    int next = 0, active = 0, done = 0;
    double last = now();
    while (done < n) {
        while (active < window && next < n) {
            if (kind == OPEN) {
                start_connect(next);
            } else if (kind == ECHO) {
                send_echo(next);
            } else {
                if (shutdown(conns[next].fd, SHUT_WR) != 0) {
                    fail("shutdown %d: %s", first + next, strerror(errno));
                }
                conns[next].state = CLOSING;
            }
            next++;
            active++;
        }
        int k = epoll_wait(ep, evs, 1024, 1000);
        if (k < 0 && errno != EINTR) {
            fail("epoll_wait: %s", strerror(errno));
        }
        for (int j = 0; j < k; j++) {
            if (on_event((int) evs[j].data.u32, evs[j].events)) {
                done++;
                active--;
            }
        }
        if (k > 0) {
            last = now();
        } else if ((now() - last) * 1000 > STALL_MS) {
            fail("pass %d: no progress for %d s, %d of %d done, %d in progress", pass, STALL_MS / 1000, done, n,
                 active);
        }
    }
}

/* Waits for the next command; an event on any connection meanwhile is an error (on_event fails). */
static int command(void) {
    char line[64];
    size_t len = 0;
    for (;;) {
        struct epoll_event evs[16];
        int k = epoll_wait(ep, evs, 16, -1);
        if (k < 0 && errno != EINTR) {
            fail("epoll_wait: %s", strerror(errno));
        }
        for (int j = 0; j < k; j++) {
            if (evs[j].data.u32 != (uint32_t) n) {
                on_event((int) evs[j].data.u32, evs[j].events);
                continue;
            }
            ssize_t r = read(0, line + len, 1);
            if (r <= 0) {
                return 'q';
            }
            if (line[len] == '\n') {
                line[len] = '\0';
                if (strcmp(line, "echo") == 0) {
                    return 'e';
                }
                if (strcmp(line, "close") == 0) {
                    return 'c';
                }
                if (strcmp(line, "closeall") == 0) {
                    return 'q';
                }
                fail("unknown command '%s' (echo, close, closeall)", line);
            }
            if (++len == sizeof line) {
                fail("command too long");
            }
        }
    }
}

static void parse_sources(char *list) {
    for (char *s = strtok(list, ","); s != NULL; s = strtok(NULL, ",")) {
        if (nsources == MAX_SOURCES) {
            fprintf(stderr, "holdconns: at most %d sources\n", MAX_SOURCES);
            exit(2);
        }
        sources[nsources].sin_family = AF_INET;
        if (inet_pton(AF_INET, s, &sources[nsources].sin_addr) != 1) {
            fprintf(stderr, "holdconns: '%s' is not an IPv4 address\n", s);
            exit(2);
        }
        nsources++;
    }
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: holdconns HOST PORT FIRST N SIZE WINDOW SOURCE[,SOURCE...]\n");
        return 2;
    }
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t) atoi(argv[2]));
    first = atoi(argv[3]);
    n = atoi(argv[4]);
    size = atoi(argv[5]);
    window = atoi(argv[6]);
    parse_sources(argv[7]);
    if (inet_pton(AF_INET, argv[1], &server.sin_addr) != 1 || first < 0 || n < 1 || size < 8 || size > MAX_SIZE
            || window < 1 || nsources == 0) {
        fprintf(stderr, "holdconns: bad arguments (HOST an IPv4 literal, FIRST >= 0, N >= 1, 8 <= SIZE <= %d,"
                " WINDOW >= 1)\n", MAX_SIZE);
        return 2;
    }
    struct rlimit rl = {.rlim_cur = (rlim_t) n + 64, .rlim_max = (rlim_t) n + 64};
    struct rlimit old;
    if (getrlimit(RLIMIT_NOFILE, &old) == 0 && old.rlim_max > rl.rlim_max) {
        rl.rlim_max = old.rlim_max;
    }
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fail("cannot raise RLIMIT_NOFILE to %d (hard limit %ld; raising it needs CAP_SYS_RESOURCE): %s: run"
             " several processes with fewer connections each", n + 64, (long) old.rlim_max, strerror(errno));
    }
    conns = calloc((size_t) n, sizeof *conns);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (conns == NULL || ep < 0) {
        fail("out of memory or epoll_create1: %s", strerror(errno));
    }
    struct epoll_event in = {.events = EPOLLIN, .data.u32 = (uint32_t) n};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in) != 0) {
        fail("epoll_ctl stdin: %s", strerror(errno));
    }

    double t0 = now();
    run_pass();
    printf("established %d\nsources %d\nopen_s %.3f\nready\n", n, nsources, now() - t0);
    fflush(stdout);
    int cmd;
    while ((cmd = command()) == 'e') {
        pass++;
        kind = ECHO;
        t0 = now();
        run_pass();
        printf("echoed %d\necho_s %.3f\nready\n", n, now() - t0);
        fflush(stdout);
    }
    t0 = now();
    if (cmd == 'c') {
        kind = CLOSE;
        run_pass();
    } else {
        for (int i = 0; i < n; i++) {
            close(conns[i].fd);
        }
    }
    printf("closed %d\nclose_s %.3f\n", n, now() - t0);
    return 0;
}
