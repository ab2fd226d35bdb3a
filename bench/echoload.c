/*
 * echoload: the project's load client for a TCP echo server, used by bench/run.sh and the it-tests.
 *
 *   echoload rr    HOST PORT SECONDS [CONNS]  1-byte round trips for SECONDS on CONNS connections (default 1),
 *                                             one byte in flight per connection
 *   echoload bulk  HOST PORT MIB              MIB MiB written and read back at the same time on one connection,
 *                                             every byte compared with what was sent
 *   echoload crr   HOST PORT SECONDS          connect, 1-byte round trip, close, one connection after another
 *   echoload burst HOST PORT N [SIZE]         N connections opened at once, then SIZE bytes (default 64, at most
 *                                             65536) echoed on each
 *   echoload mixed HOST PORT SECONDS BULK [RR [SIZE]]
 *                                             latency under load: BULK connections stream through the echo (both
 *                                             ways, every byte compared) while RR connections (default 1) do
 *                                             round trips of SIZE bytes (default 1) for SECONDS; with BULK 0 the
 *                                             same round trips alone
 *
 * HOST is an IPv4 or IPv6 literal (198.18.6.2, fd00:198::2). All sockets are the kernel's, with TCP_NODELAY.
 *
 * Output on stdout: one figure per line, "NAME VALUE", so that scripts can pick a figure with
 * awk '$1 == "round_trips_per_s" { print $2 }'. Every mode prints mode, family, address and port, then:
 *   rr:    connections, seconds, round_trips, round_trips_per_s, p50_us, p99_us, max_us
 *   bulk:  bytes, verified_bytes, seconds, mib_per_s_each_way
 *   crr:   connections, seconds, connections_per_s, p50_us, p99_us, max_us (one whole connection each)
 *   burst: connections, bytes_each, connect_s (until all were established), total_s (until all had echoed)
 *   mixed: bulk_connections, rr_connections, rr_size, seconds, round_trips, round_trips_per_s, p50_us, p99_us,
 *          p999_us, max_us (of the rr round trips), bulk_verified_bytes, bulk_mib_per_s_each_way (all bulk
 *          connections together, while the round trips ran)
 * Times are measured with CLOCK_MONOTONIC; seconds is the measured duration, not the one asked for.
 *
 * Exit status: 0 when everything was echoed intact; 1 on any error (a failed system call, a connection refused
 * or reset, the server closing early, no progress for 10 s, a byte that did not come back as sent, more bytes
 * than were sent), with the reason on stderr; 2 on a usage error.
 *
 * Build: gcc -O2 -pthread -o echoload echoload.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* No progress (connect, read or write) for this long is an error, so a stalled server cannot hang a caller. */
#define STALL_MS 10000
/* bulk: bytes per write and per read. */
#define CHUNK 65536
/* The byte pattern's period: a prime, so that a chunk delivered at the wrong offset does not match. */
#define PERIOD 1000003

static const char *mode_name = "echoload";

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "echoload %s: ", mode_name);
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

/* ---- the server's address ------------------------------------------------------------------------------- */

static struct sockaddr_storage server;
static socklen_t server_len;

static void parse_address(const char *host, const char *port_text) {
    char *end;
    long port = strtol(port_text, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "echoload: bad port '%s' (1-65535)\n", port_text);
        exit(2);
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai;
    int r = getaddrinfo(host, port_text, &hints, &ai);
    if (r != 0) {
        fprintf(stderr, "echoload: '%s' is not an IPv4 or IPv6 literal: %s\n", host, gai_strerror(r));
        exit(2);
    }
    memcpy(&server, ai->ai_addr, ai->ai_addrlen);
    server_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    printf("mode %s\nfamily %s\naddress %s\nport %ld\n", mode_name, server.ss_family == AF_INET6 ? "ipv6" : "ipv4",
           host, port);
}

/* A non-blocking TCP socket with TCP_NODELAY whose connect to the server has been started. */
static int start_connect(void) {
    int fd = socket(server.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail("socket: %s", strerror(errno));
    }
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        fail("setsockopt TCP_NODELAY: %s", strerror(errno));
    }
    if (connect(fd, (struct sockaddr *) &server, server_len) != 0 && errno != EINPROGRESS) {
        fail("connect: %s", strerror(errno));
    }
    return fd;
}

/* After the socket became writable: fails unless its connect succeeded. */
static void check_connected(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        fail("getsockopt SO_ERROR: %s", strerror(errno));
    }
    if (err != 0) {
        fail("connect: %s", strerror(err));
    }
}

/* Waits for events on one descriptor, failing after STALL_MS without them. */
static void wait_for(int fd, short events, const char *what) {
    struct pollfd p = {.fd = fd, .events = events};
    int r;
    do {
        r = poll(&p, 1, STALL_MS);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        fail("poll: %s", strerror(errno));
    }
    if (r == 0) {
        fail("%s: nothing for %d s", what, STALL_MS / 1000);
    }
}

/* A connected blocking socket whose reads and writes fail after STALL_MS without progress. */
static int connect_blocking(void) {
    int fd = start_connect();
    wait_for(fd, POLLOUT, "connect");
    check_connected(fd);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        fail("fcntl: %s", strerror(errno));
    }
    struct timeval tv = {.tv_sec = STALL_MS / 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0
        || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        fail("setsockopt SO_RCVTIMEO/SO_SNDTIMEO: %s", strerror(errno));
    }
    return fd;
}

/* Reads one byte from a blocking socket and fails unless it is the expected one. */
static void read_echo_byte(int fd, unsigned char expected, long conn, long n) {
    unsigned char got;
    ssize_t r;
    do {
        r = read(fd, &got, 1);
    } while (r < 0 && errno == EINTR);
    if (r == 1 && got == expected) {
        return;
    }
    if (r == 1) {
        fail("connection %ld, round trip %ld: sent 0x%02x, got 0x%02x back", conn, n, expected, got);
    }
    if (r == 0) {
        fail("connection %ld, round trip %ld: the server closed the connection", conn, n);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        fail("connection %ld, round trip %ld: no echo within %d s", conn, n, STALL_MS / 1000);
    }
    fail("connection %ld, round trip %ld: read: %s", conn, n, strerror(errno));
}

static void write_byte(int fd, unsigned char c, long conn) {
    ssize_t w;
    do {
        w = write(fd, &c, 1);
    } while (w < 0 && errno == EINTR);
    if (w != 1) {
        fail("connection %ld: write: %s", conn, w < 0 ? strerror(errno) : "nothing written");
    }
}

/* ---- latency samples ------------------------------------------------------------------------------------ */

struct samples {
    float *us;
    size_t n, cap;
};

static void add_sample(struct samples *s, double seconds) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 65536;
        s->us = realloc(s->us, s->cap * sizeof *s->us);
        if (s->us == NULL) {
            fail("out of memory for %zu latency samples", s->cap);
        }
    }
    s->us[s->n++] = (float) (seconds * 1e6);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *) a, y = *(const float *) b;
    return x < y ? -1 : x > y;
}

static void print_percentiles(struct samples *s) {
    qsort(s->us, s->n, sizeof *s->us, cmp_float);
    size_t n = s->n;
    printf("p50_us %.1f\np99_us %.1f\nmax_us %.1f\n", n ? s->us[n / 2] : 0.0, n ? s->us[n * 99 / 100] : 0.0,
           n ? s->us[n - 1] : 0.0);
}

/* ---- rr ------------------------------------------------------------------------------------------------- */

/* rr on one connection: blocking write and read, the lowest overhead on the client's side. */
static void rr_one(double seconds) {
    int fd = connect_blocking();
    struct samples s = {0};
    long n = 0;
    double t0 = now(), end = t0 + seconds, t = t0;
    while (t < end) {
        unsigned char c = (unsigned char) ('A' + n % 26);
        write_byte(fd, c, 0);
        read_echo_byte(fd, c, 0, n);
        double t1 = now();
        add_sample(&s, t1 - t);
        t = t1;
        n++;
    }
    close(fd);
    printf("connections 1\nseconds %.3f\nround_trips %ld\nround_trips_per_s %.0f\n", t - t0, n, n / (t - t0));
    print_percentiles(&s);
    free(s.us);
}

struct rr_conn {
    int fd;
    long n;          /* round trips completed */
    double sent_at;  /* when the byte in flight was written */
};

/* rr on several connections: non-blocking sockets and epoll, one byte in flight on each. */
static void rr_many(double seconds, int conns) {
    struct rr_conn *c = calloc(conns, sizeof *c);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (c == NULL || ep < 0) {
        fail("setup: %s", strerror(errno));
    }
    for (int i = 0; i < conns; i++) {
        c[i].fd = start_connect();
    }
    for (int i = 0; i < conns; i++) {
        wait_for(c[i].fd, POLLOUT, "connect");
        check_connected(c[i].fd);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t) i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev) != 0) {
            fail("epoll_ctl: %s", strerror(errno));
        }
    }
    struct samples s = {0};
    struct epoll_event evs[256];
    double t0 = now(), end = t0 + seconds, last = t0;
    for (int i = 0; i < conns; i++) {
        c[i].sent_at = now();
        write_byte(c[i].fd, 'A', i);
    }
    long total = 0;
    int in_flight = conns;
    while (in_flight > 0) {
        int k = epoll_wait(ep, evs, 256, STALL_MS);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            fail("epoll_wait: %s", strerror(errno));
        }
        if (k == 0) {
            fail("%d of %d connections got no echo for %d s", in_flight, conns, STALL_MS / 1000);
        }
        double t = now();
        for (int j = 0; j < k; j++) {
            struct rr_conn *x = &c[evs[j].data.u32];
            unsigned char expected = (unsigned char) ('A' + x->n % 26), got;
            ssize_t r = read(x->fd, &got, 1);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                continue;
            }
            if (r < 0) {
                fail("connection %u: read: %s", evs[j].data.u32, strerror(errno));
            }
            if (r == 0) {
                fail("connection %u, round trip %ld: the server closed the connection", evs[j].data.u32, x->n);
            }
            if (got != expected) {
                fail("connection %u, round trip %ld: sent 0x%02x, got 0x%02x back", evs[j].data.u32, x->n,
                     expected, got);
            }
            add_sample(&s, t - x->sent_at);
            x->n++;
            total++;
            last = t;
            if (t < end) {
                x->sent_at = now();
                write_byte(x->fd, (unsigned char) ('A' + x->n % 26), evs[j].data.u32);
            } else {
                in_flight--;
            }
        }
    }
    for (int i = 0; i < conns; i++) {
        close(c[i].fd);
    }
    close(ep);
    printf("connections %d\nseconds %.3f\nround_trips %ld\nround_trips_per_s %.0f\n", conns, last - t0, total,
           total / (last - t0));
    print_percentiles(&s);
    free(s.us);
    free(c);
}

/* ---- bulk ----------------------------------------------------------------------------------------------- */

/* PERIOD pseudo-random bytes (xorshift64*), then CHUNK more repeating the start: any CHUNK bytes of the endless
 * stream begin at pattern + offset % PERIOD. */
static unsigned char *pattern;

static void make_pattern(void) {
    pattern = malloc(PERIOD + CHUNK);
    if (pattern == NULL) {
        fail("out of memory");
    }
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < PERIOD; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        pattern[i] = (unsigned char) ((x * 0x2545f4914f6cdd1dULL) >> 56);
    }
    memcpy(pattern + PERIOD, pattern, CHUNK);
}

struct writer {
    int fd;
    uint64_t total;
    char error[160]; /* empty unless the writer failed */
};

static void *write_all(void *arg) {
    struct writer *w = arg;
    uint64_t off = 0;
    while (off < w->total) {
        size_t len = w->total - off < CHUNK ? (size_t) (w->total - off) : CHUNK;
        ssize_t r = write(w->fd, pattern + off % PERIOD, len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            snprintf(w->error, sizeof w->error, "write at byte %llu: %s", (unsigned long long) off,
                     r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                         ? "the server read nothing for 10 s" : strerror(errno));
            shutdown(w->fd, SHUT_RDWR); /* wakes the reader, which then reports this error */
            return NULL;
        }
        off += (uint64_t) r;
    }
    return NULL;
}

static void bulk(long mib) {
    make_pattern();
    unsigned char *buf = malloc(CHUNK);
    if (buf == NULL) {
        fail("out of memory");
    }
    int fd = connect_blocking();
    struct writer w = {.fd = fd, .total = (uint64_t) mib << 20};
    pthread_t thread;
    double t0 = now();
    if (pthread_create(&thread, NULL, write_all, &w) != 0) {
        fail("pthread_create failed");
    }
    uint64_t got = 0;
    while (got < w.total) {
        size_t want = w.total - got < CHUNK ? (size_t) (w.total - got) : CHUNK;
        ssize_t r = read(fd, buf, want);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            pthread_join(thread, NULL);
            if (w.error[0] != '\0') {
                fail("%s", w.error);
            }
            if (r == 0) {
                fail("the server closed the connection after echoing %llu of %llu bytes",
                     (unsigned long long) got, (unsigned long long) w.total);
            }
            fail("read at byte %llu: %s", (unsigned long long) got,
                 errno == EAGAIN || errno == EWOULDBLOCK ? "no echo for 10 s" : strerror(errno));
        }
        const unsigned char *want_bytes = pattern + got % PERIOD;
        if (memcmp(buf, want_bytes, (size_t) r) != 0) {
            size_t i = 0;
            while (buf[i] == want_bytes[i]) {
                i++;
            }
            fail("corrupt echo at byte %llu: sent 0x%02x, got 0x%02x back", (unsigned long long) (got + i),
                 want_bytes[i], buf[i]);
        }
        got += (uint64_t) r;
    }
    double seconds = now() - t0;
    pthread_join(thread, NULL);
    if (w.error[0] != '\0') {
        fail("%s", w.error);
    }
    /* Nothing more may come back: half-close, then expect the end of the stream (the echo servers close when
     * their input ends) or silence for a second; extra bytes are an error. */
    shutdown(fd, SHUT_WR);
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t extra = read(fd, buf, CHUNK);
    if (extra > 0) {
        fail("the server sent %zd bytes more than the %llu sent", extra, (unsigned long long) w.total);
    }
    close(fd);
    printf("bytes %llu\nverified_bytes %llu\nseconds %.3f\nmib_per_s_each_way %.2f\n",
           (unsigned long long) w.total, (unsigned long long) got, seconds, mib / seconds);
    free(buf);
}

/* ---- mixed: rr round trips while bulk flows run on other connections ------------------------------------ */

/* mixed: bytes a bulk connection may have sent and not yet had back. The Netty echo servers read whatever comes
 * and queue what they cannot send yet (no back-pressure): this bounds what they hold, about as much as the kernel's
 * socket buffers would. */
#define BULK_IN_FLIGHT (4 << 20)
/* mixed: how long the bulk flows run before the rr round trips start, so that they are measured at full speed. */
#define RAMP_SECONDS 0.5

struct bulk_conn {
    int fd;
    int writing;       /* EPOLLOUT is on */
    uint64_t sent, echoed;
};

struct bulk_load {
    int conns;
    struct bulk_conn *c;
    int ep;
    int stop;        /* set by the main thread: stop writing, take back what is in flight (atomic) */
    uint64_t echoed; /* all connections, as the bulk thread counted it last (atomic) */
};

static void bulk_interest(struct bulk_load *b, int i, int writing) {
    struct bulk_conn *x = &b->c[i];
    if (x->writing == writing) {
        return;
    }
    x->writing = writing;
    struct epoll_event ev = {.events = EPOLLIN | (writing ? EPOLLOUT : 0), .data.u32 = (uint32_t) i};
    if (epoll_ctl(b->ep, EPOLL_CTL_MOD, x->fd, &ev) != 0) {
        fail("bulk connection %d: epoll_ctl: %s", i, strerror(errno));
    }
}

/* The bulk thread: every connection writes the pattern (connection i from offset i * 7919) as fast as the server
 * takes it, at most BULK_IN_FLIGHT ahead of what came back, and compares every byte that comes back. After stop,
 * it writes no more and returns once everything sent has come back. */
static void *bulk_run(void *arg) {
    struct bulk_load *b = arg;
    unsigned char *buf = malloc(CHUNK);
    struct epoll_event evs[64];
    if (buf == NULL) {
        fail("out of memory");
    }
    uint64_t total = 0;
    int stopping = 0;
    for (;;) {
        if (!stopping && __atomic_load_n(&b->stop, __ATOMIC_RELAXED)) {
            stopping = 1;
            for (int i = 0; i < b->conns; i++) {
                bulk_interest(b, i, 0);
            }
        }
        if (stopping) {
            int done = 1;
            for (int i = 0; i < b->conns && done; i++) {
                done = b->c[i].echoed == b->c[i].sent;
            }
            if (done) {
                break;
            }
        }
        int k = epoll_wait(b->ep, evs, 64, stopping ? STALL_MS : 100);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            fail("bulk: epoll_wait: %s", strerror(errno));
        }
        if (k == 0 && stopping) {
            fail("bulk: no echo for %d s", STALL_MS / 1000);
        }
        for (int j = 0; j < k; j++) {
            int i = (int) evs[j].data.u32;
            struct bulk_conn *x = &b->c[i];
            uint64_t base = (uint64_t) i * 7919; /* each connection its own place in the pattern */
            if (evs[j].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                ssize_t r = read(x->fd, buf, CHUNK);
                if (r < 0 && errno != EAGAIN && errno != EINTR) {
                    fail("bulk connection %d: read: %s", i, strerror(errno));
                }
                if (r == 0) {
                    fail("bulk connection %d: the server closed the connection after echoing %llu bytes", i,
                         (unsigned long long) x->echoed);
                }
                if (r > 0) {
                    if (x->echoed + (uint64_t) r > x->sent) {
                        fail("bulk connection %d: %llu bytes came back, only %llu were sent", i,
                             (unsigned long long) (x->echoed + (uint64_t) r), (unsigned long long) x->sent);
                    }
                    const unsigned char *want = pattern + (base + x->echoed) % PERIOD;
                    if (memcmp(buf, want, (size_t) r) != 0) {
                        size_t at = 0;
                        while (buf[at] == want[at]) {
                            at++;
                        }
                        fail("bulk connection %d: corrupt echo at byte %llu: sent 0x%02x, got 0x%02x back", i,
                             (unsigned long long) (x->echoed + at), want[at], buf[at]);
                    }
                    x->echoed += (uint64_t) r;
                    total += (uint64_t) r;
                    __atomic_store_n(&b->echoed, total, __ATOMIC_RELAXED);
                }
            }
            if (!stopping && (evs[j].events & EPOLLOUT)) {
                uint64_t room = BULK_IN_FLIGHT - (x->sent - x->echoed);
                size_t len = room < CHUNK ? (size_t) room : CHUNK;
                ssize_t w = len > 0 ? write(x->fd, pattern + (base + x->sent) % PERIOD, len) : 0;
                if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    fail("bulk connection %d: write: %s", i, strerror(errno));
                }
                if (w > 0) {
                    x->sent += (uint64_t) w;
                }
            }
            if (!stopping) {
                bulk_interest(b, i, x->sent - x->echoed < BULK_IN_FLIGHT);
            }
        }
    }
    free(buf);
    return NULL;
}

struct rr_thread {
    int fd;
    int fifo; /* runs with SCHED_FIFO */
    size_t size;
    double end;
    struct samples s;
};

/* One rr connection: SIZE bytes written, SIZE bytes read back and compared, until the end time. */
static void *rr_run(void *arg) {
    struct rr_thread *t = arg;
    unsigned char msg[CHUNK], got[CHUNK];
    /* Real-time priority (when allowed: root or CAP_SYS_NICE), so that the client's own bulk thread does not
     * delay the round trips on a machine with few cores: what is measured is the server's delay. */
    struct sched_param sp = {.sched_priority = 1};
    t->fifo = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) == 0;
    long n = 0;
    while (now() < t->end) {
        for (size_t i = 0; i < t->size; i++) {
            msg[i] = (unsigned char) ('A' + (n + (long) i) % 26);
        }
        double t0 = now();
        size_t off = 0;
        while (off < t->size) {
            ssize_t w = write(t->fd, msg + off, t->size - off);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                fail("rr round trip %ld: write: %s", n, w < 0 ? strerror(errno) : "nothing written");
            }
            off += (size_t) w;
        }
        off = 0;
        while (off < t->size) {
            ssize_t r = read(t->fd, got + off, t->size - off);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r == 0) {
                fail("rr round trip %ld: the server closed the connection", n);
            }
            if (r < 0) {
                fail("rr round trip %ld: read: %s", n, errno == EAGAIN || errno == EWOULDBLOCK
                     ? "no echo for 10 s" : strerror(errno));
            }
            off += (size_t) r;
        }
        add_sample(&t->s, now() - t0);
        if (memcmp(msg, got, t->size) != 0) {
            fail("rr round trip %ld: the echo differs from what was sent", n);
        }
        n++;
    }
    return NULL;
}

/* mixed: BULK bulk connections stream through the echo while RR connections do round trips of SIZE bytes for
 * SECONDS; with BULK 0 the same round trips alone. */
static void mixed(double seconds, int bulk_conns, int rr_conns, size_t size) {
    make_pattern();
    struct bulk_load b = {.conns = bulk_conns, .c = calloc(bulk_conns > 0 ? bulk_conns : 1, sizeof *b.c),
                          .ep = epoll_create1(EPOLL_CLOEXEC)};
    struct rr_thread *rr = calloc(rr_conns, sizeof *rr);
    pthread_t *rr_threads = calloc(rr_conns, sizeof *rr_threads), bulk_thread;
    if (b.c == NULL || rr == NULL || rr_threads == NULL || b.ep < 0) {
        fail("setup: %s", strerror(errno));
    }
    for (int i = 0; i < bulk_conns; i++) {
        b.c[i].fd = start_connect();
        wait_for(b.c[i].fd, POLLOUT, "connect");
        check_connected(b.c[i].fd);
        b.c[i].writing = 1;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t) i};
        if (epoll_ctl(b.ep, EPOLL_CTL_ADD, b.c[i].fd, &ev) != 0) {
            fail("epoll_ctl: %s", strerror(errno));
        }
    }
    for (int i = 0; i < rr_conns; i++) {
        rr[i].fd = connect_blocking();
        rr[i].size = size;
    }
    if (bulk_conns > 0) {
        if (pthread_create(&bulk_thread, NULL, bulk_run, &b) != 0) {
            fail("pthread_create failed");
        }
        struct timespec ramp = {.tv_sec = 0, .tv_nsec = (long) (RAMP_SECONDS * 1e9)};
        nanosleep(&ramp, NULL);
    }
    double t0 = now();
    uint64_t echoed0 = __atomic_load_n(&b.echoed, __ATOMIC_RELAXED);
    for (int i = 0; i < rr_conns; i++) {
        rr[i].end = t0 + seconds;
        if (pthread_create(&rr_threads[i], NULL, rr_run, &rr[i]) != 0) {
            fail("pthread_create failed");
        }
    }
    for (int i = 0; i < rr_conns; i++) {
        pthread_join(rr_threads[i], NULL);
    }
    double t1 = now();
    uint64_t echoed1 = __atomic_load_n(&b.echoed, __ATOMIC_RELAXED);
    if (bulk_conns > 0) {
        __atomic_store_n(&b.stop, 1, __ATOMIC_RELAXED);
        pthread_join(bulk_thread, NULL);
    }
    struct samples all = {0};
    int fifo = 1;
    for (int i = 0; i < rr_conns; i++) {
        fifo &= rr[i].fifo;
        for (size_t j = 0; j < rr[i].s.n; j++) {
            add_sample(&all, rr[i].s.us[j] / 1e6);
        }
        free(rr[i].s.us);
        close(rr[i].fd);
    }
    uint64_t verified = 0;
    for (int i = 0; i < bulk_conns; i++) {
        verified += b.c[i].echoed;
        close(b.c[i].fd);
    }
    qsort(all.us, all.n, sizeof *all.us, cmp_float);
    size_t n = all.n;
    printf("bulk_connections %d\nrr_connections %d\nrr_size %zu\nseconds %.3f\nround_trips %zu\n"
           "round_trips_per_s %.0f\nrr_sched %s\n", bulk_conns, rr_conns, size, t1 - t0, n, n / (t1 - t0),
           fifo ? "fifo" : "other");
    printf("p50_us %.1f\np99_us %.1f\np999_us %.1f\nmax_us %.1f\n", n ? all.us[n / 2] : 0.0,
           n ? all.us[n * 99 / 100] : 0.0, n ? all.us[n * 999 / 1000] : 0.0, n ? all.us[n - 1] : 0.0);
    printf("bulk_verified_bytes %llu\nbulk_mib_per_s_each_way %.2f\n", (unsigned long long) verified,
           (double) (echoed1 - echoed0) / (1 << 20) / (t1 - t0));
    free(all.us);
    free(rr);
    free(rr_threads);
    free(b.c);
    close(b.ep);
}

/* ---- crr ------------------------------------------------------------------------------------------------ */

static void crr(double seconds) {
    struct samples s = {0};
    long n = 0;
    double t0 = now(), end = t0 + seconds, t = t0;
    while (t < end) {
        int fd = connect_blocking();
        unsigned char c = (unsigned char) ('a' + n % 26);
        write_byte(fd, c, n);
        read_echo_byte(fd, c, n, 0);
        close(fd);
        double t1 = now();
        add_sample(&s, t1 - t);
        t = t1;
        n++;
    }
    printf("connections %ld\nseconds %.3f\nconnections_per_s %.0f\n", n, t - t0, n / (t - t0));
    print_percentiles(&s);
    free(s.us);
}

/* ---- burst ---------------------------------------------------------------------------------------------- */

struct burst_conn {
    int fd;
    int connected;
    size_t sent, echoed;
};

static void burst(int conns, size_t size) {
    /* N sockets, an epoll descriptor and stdio: raise the soft limit on descriptors to the hard one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    make_pattern();
    unsigned char buf[CHUNK];
    struct burst_conn *c = calloc(conns, sizeof *c);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (c == NULL || ep < 0) {
        fail("setup: %s", strerror(errno));
    }
    double t0 = now();
    for (int i = 0; i < conns; i++) {
        c[i].fd = start_connect();
        struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t) i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev) != 0) {
            fail("epoll_ctl: %s", strerror(errno));
        }
    }
    /* Phase 1: every connect completes. */
    struct epoll_event evs[256];
    int pending = conns;
    while (pending > 0) {
        int k = epoll_wait(ep, evs, 256, STALL_MS);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            fail("epoll_wait: %s", strerror(errno));
        }
        if (k == 0) {
            fail("%d of %d connects had not completed after %d s without progress", pending, conns, STALL_MS / 1000);
        }
        for (int j = 0; j < k; j++) {
            struct burst_conn *x = &c[evs[j].data.u32];
            if (x->connected) {
                continue;
            }
            check_connected(x->fd);
            x->connected = 1;
            pending--;
            struct epoll_event ev = {.events = 0, .data.u32 = evs[j].data.u32};
            epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &ev);
        }
    }
    double connected = now();
    /* Phase 2: SIZE bytes on each (connection i sends the pattern from offset i), read back and compared. */
    for (int i = 0; i < conns; i++) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t) i};
        epoll_ctl(ep, EPOLL_CTL_MOD, c[i].fd, &ev);
    }
    pending = conns;
    while (pending > 0) {
        int k = epoll_wait(ep, evs, 256, STALL_MS);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            fail("epoll_wait: %s", strerror(errno));
        }
        if (k == 0) {
            fail("%d of %d connections got no echo for %d s", pending, conns, STALL_MS / 1000);
        }
        for (int j = 0; j < k; j++) {
            uint32_t i = evs[j].data.u32;
            struct burst_conn *x = &c[i];
            const unsigned char *data = pattern + i % PERIOD;
            if ((evs[j].events & EPOLLOUT) && x->sent < size) {
                ssize_t w = write(x->fd, data + x->sent, size - x->sent);
                if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    fail("connection %u: write: %s", i, strerror(errno));
                }
                if (w > 0) {
                    x->sent += (size_t) w;
                }
                if (x->sent == size) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
                    epoll_ctl(ep, EPOLL_CTL_MOD, x->fd, &ev);
                }
            }
            if (evs[j].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                ssize_t r = read(x->fd, buf, sizeof buf);
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                    continue;
                }
                if (r < 0) {
                    fail("connection %u: read: %s", i, strerror(errno));
                }
                if (r == 0) {
                    fail("connection %u: the server closed the connection after echoing %zu of %zu bytes", i,
                         x->echoed, size);
                }
                if (x->echoed + (size_t) r > x->sent) {
                    fail("connection %u: %zu bytes came back, only %zu were sent", i, x->echoed + (size_t) r,
                         x->sent);
                }
                if (memcmp(buf, data + x->echoed, (size_t) r) != 0) {
                    size_t b = 0;
                    while (buf[b] == data[x->echoed + b]) {
                        b++;
                    }
                    fail("connection %u: corrupt echo at byte %zu: sent 0x%02x, got 0x%02x back", i, x->echoed + b,
                         data[x->echoed + b], buf[b]);
                }
                x->echoed += (size_t) r;
                if (x->echoed == size) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
                    pending--;
                }
            }
        }
    }
    double done = now();
    for (int i = 0; i < conns; i++) {
        close(c[i].fd);
    }
    close(ep);
    free(c);
    printf("connections %d\nbytes_each %zu\nconnect_s %.4f\ntotal_s %.4f\n", conns, size, connected - t0,
           done - t0);
}

/* ---- main ----------------------------------------------------------------------------------------------- */

static void usage(void) {
    fprintf(stderr,
            "usage: echoload rr    HOST PORT SECONDS [CONNS]\n"
            "       echoload bulk  HOST PORT MIB\n"
            "       echoload crr   HOST PORT SECONDS\n"
            "       echoload burst HOST PORT N [SIZE]\n"
            "       echoload mixed HOST PORT SECONDS BULK [RR [SIZE]]\n"
            "HOST is an IPv4 or IPv6 literal; figures go to stdout as 'NAME VALUE' lines.\n");
    exit(2);
}

/* A positive number within [min, max], or a usage error naming the argument. */
static double number(const char *text, const char *name, double min, double max) {
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !(v >= min && v <= max)) {
        fprintf(stderr, "echoload: %s must be a number from %g to %g, not '%s'\n", name, min, max, text);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        usage();
    }
    mode_name = argv[1];
    const char *mode = argv[1];
    if (strcmp(mode, "rr") == 0 && argc <= 6) {
        double seconds = number(argv[4], "SECONDS", 0.001, 86400);
        int conns = argc > 5 ? (int) number(argv[5], "CONNS", 1, 10000) : 1;
        parse_address(argv[2], argv[3]);
        if (conns == 1) {
            rr_one(seconds);
        } else {
            rr_many(seconds, conns);
        }
    } else if (strcmp(mode, "bulk") == 0 && argc == 5) {
        long mib = (long) number(argv[4], "MIB", 1, 1 << 20);
        parse_address(argv[2], argv[3]);
        bulk(mib);
    } else if (strcmp(mode, "crr") == 0 && argc == 5) {
        double seconds = number(argv[4], "SECONDS", 0.001, 86400);
        parse_address(argv[2], argv[3]);
        crr(seconds);
    } else if (strcmp(mode, "burst") == 0 && argc <= 6) {
        int conns = (int) number(argv[4], "N", 1, 100000);
        size_t size = argc > 5 ? (size_t) number(argv[5], "SIZE", 1, CHUNK) : 64;
        parse_address(argv[2], argv[3]);
        burst(conns, size);
    } else if (strcmp(mode, "mixed") == 0 && argc >= 6 && argc <= 8) {
        double seconds = number(argv[4], "SECONDS", 0.001, 86400);
        int bulk_conns = (int) number(argv[5], "BULK", 0, 1000);
        int rr_conns = argc > 6 ? (int) number(argv[6], "RR", 1, 100) : 1;
        size_t size = argc > 7 ? (size_t) number(argv[7], "SIZE", 1, CHUNK) : 1;
        parse_address(argv[2], argv[3]);
        mixed(seconds, bulk_conns, rr_conns, size);
    } else {
        usage();
    }
    return 0;
}
