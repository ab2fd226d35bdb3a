/*
 * synflood: spoofed TCP SYNs as fast as a raw socket sends them, for a SYN-flood test or benchmark.
 *
 *   synflood DST_IP DST_PORT SECONDS [MAX_PACKETS [EXCLUDE_CIDR [RATE]]]
 *
 * Every SYN comes from a random source address in 198.18.0.0/15 (RFC 2544's benchmarking range) outside
 * EXCLUDE_CIDR (the legitimate client's prefix), with a random source port and sequence number and an MSS
 * option, as a flooding tool would send it. Sends for SECONDS (fractions allowed) or until MAX_PACKETS (0: no
 * limit) have gone, at RATE packets/s (0 or absent: as fast as it can), in batches through sendmmsg(2) on an IPPROTO_RAW socket, then prints one line:
 *
 *   SYNFLOOD sent N packets in T s: R packets/s (E send errors)
 *
 * Needs CAP_NET_RAW. Build: gcc -O2 -o synflood synflood.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define PKT_LEN 44 /* IPv4 header 20, TCP header 20, MSS option 4 */

static uint64_t rng_state;

static uint32_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t) ((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t sum16(const uint8_t *p, int len, uint32_t sum) {
    for (int i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t) p[i] << 8 | p[i + 1];
    }
    if (len & 1) {
        sum += (uint32_t) p[len - 1] << 8;
    }
    return sum;
}

static uint16_t fold(uint32_t sum) {
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t) ~sum;
}

static int parse_cidr(const char *text, uint32_t *net, uint32_t *mask) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s", text);
    char *slash = strchr(buf, '/');
    int len = 32;
    if (slash) {
        *slash = 0;
        len = atoi(slash + 1);
    }
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1 || len < 0 || len > 32) {
        return -1;
    }
    *mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
    *net = ntohl(a.s_addr) & *mask;
    return 0;
}

static void fill(uint8_t *p, uint32_t src, uint32_t dst, uint16_t dport) {
    memset(p, 0, PKT_LEN);
    p[0] = 0x45;
    p[2] = PKT_LEN >> 8;
    p[3] = PKT_LEN & 0xff;
    uint16_t id = (uint16_t) rnd();
    p[4] = id >> 8;
    p[5] = id & 0xff;
    p[8] = 64;
    p[9] = IPPROTO_TCP;
    uint32_t s = htonl(src), d = htonl(dst);
    memcpy(p + 12, &s, 4);
    memcpy(p + 16, &d, 4);
    uint8_t *t = p + 20;
    uint16_t sport = (uint16_t) (1024 + rnd() % 64000);
    uint32_t seq = rnd();
    t[0] = sport >> 8;
    t[1] = sport & 0xff;
    t[2] = dport >> 8;
    t[3] = dport & 0xff;
    t[4] = seq >> 24;
    t[5] = seq >> 16;
    t[6] = seq >> 8;
    t[7] = seq;
    t[12] = 6 << 4; /* 24-byte header */
    t[13] = 0x02;   /* SYN */
    t[14] = 0xfa;   /* window 64240 */
    t[15] = 0xf0;
    t[20] = 2;      /* MSS 1460 */
    t[21] = 4;
    t[22] = 1460 >> 8;
    t[23] = 1460 & 0xff;
    uint32_t sum = sum16(p + 12, 8, 0) + IPPROTO_TCP + (PKT_LEN - 20);
    uint16_t c = fold(sum16(t, PKT_LEN - 20, sum));
    t[16] = c >> 8;
    t[17] = c & 0xff;
    uint16_t ic = fold(sum16(p, 20, 0)); /* the kernel fills it in too; harmless */
    p[10] = ic >> 8;
    p[11] = ic & 0xff;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s DST_IP DST_PORT SECONDS [MAX_PACKETS [EXCLUDE_CIDR [RATE]]]\n", argv[0]);
        return 2;
    }
    struct in_addr dst_addr;
    if (inet_pton(AF_INET, argv[1], &dst_addr) != 1) {
        fprintf(stderr, "synflood: bad destination address %s\n", argv[1]);
        return 2;
    }
    uint32_t dst = ntohl(dst_addr.s_addr);
    uint16_t dport = (uint16_t) atoi(argv[2]);
    double seconds = atof(argv[3]);
    long long max = argc > 4 ? atoll(argv[4]) : 0;
    uint32_t ex_net = 0, ex_mask = 0xffffffffu;
    int exclude = 0;
    if (argc > 5) {
        if (parse_cidr(argv[5], &ex_net, &ex_mask) != 0) {
            fprintf(stderr, "synflood: bad prefix %s\n", argv[5]);
            return 2;
        }
        exclude = 1;
    }
    double rate = argc > 6 ? atof(argv[6]) : 0;
    rng_state = (uint64_t) time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t) getpid();
    if (rng_state == 0) {
        rng_state = 1;
    }
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0) {
        perror("synflood: socket(AF_INET, SOCK_RAW, IPPROTO_RAW) (needs CAP_NET_RAW)");
        return 1;
    }
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    static uint8_t pkts[BATCH][PKT_LEN];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr = dst_addr};
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = pkts[i];
        iov[i].iov_len = PKT_LEN;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &to;
        msgs[i].msg_hdr.msg_namelen = sizeof to;
    }
    long long sent = 0, errors = 0;
    double start = now(), end = start + seconds, t = start;
    while (t < end && (max <= 0 || sent < max)) {
        int n = BATCH;
        if (rate > 0) { /* paced: wait until the batch is due */
            double due = start + sent / rate;
            while ((t = now()) < due) {
                struct timespec pause = {0, 200000};
                nanosleep(&pause, NULL);
            }
            if (t >= end) {
                break;
            }
        }
        if (max > 0 && max - sent < n) {
            n = (int) (max - sent);
        }
        for (int i = 0; i < n; i++) {
            uint32_t src;
            do {
                src = 0xC6120000u | (rnd() & 0x1ffff); /* 198.18.0.0/15 */
            } while ((exclude && (src & ex_mask) == ex_net) || (src & 0xff) == 0 || (src & 0xff) == 0xff
                     || src == dst);
            fill(pkts[i], src, dst, dport);
        }
        int r = sendmmsg(fd, msgs, n, 0);
        if (r < 0) {
            if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
                errors++;
                t = now();
                continue;
            }
            perror("synflood: sendmmsg");
            return 1;
        }
        sent += r;
        t = now();
    }
    double dt = now() - start;
    printf("SYNFLOOD sent %lld packets in %.3f s: %.0f packets/s (%lld send errors)\n", sent, dt,
           dt > 0 ? sent / dt : 0.0, errors);
    return 0;
}
