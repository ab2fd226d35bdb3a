/* A single-threaded epoll echo server: the kernel baseline of bench/run.sh.
 * usage: epoll-echo ADDRESS PORT. Partial writes are kept and finished when the socket is writable, so no
 * byte is lost under load. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (256 * 1024)
struct conn { int fd; size_t off, len; char buf[BUF]; };

static void drop(int ep, struct conn *c) { epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); free(c); }

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s ADDRESS PORT\n", argv[0]); return 2; }
    int v6 = strchr(argv[1], ':') != NULL; /* an IPv6 literal */
    int ls = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* Several of these on one port share the connections (bench/scale.sh runs one per loop, issue #12). */
    setsockopt(ls, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(atoi(argv[2]))};
    if ((v6 ? inet_pton(AF_INET6, argv[1], &a6.sin6_addr) : inet_pton(AF_INET, argv[1], &a.sin_addr)) != 1) {
        fprintf(stderr, "bad address %s\n", argv[1]);
        return 2;
    }
    if ((v6 ? bind(ls, (struct sockaddr *)&a6, sizeof a6) : bind(ls, (struct sockaddr *)&a, sizeof a))
            || listen(ls, 4096)) { perror("bind/listen"); return 1; }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    printf("epoll echo server listening on %s:%s\n", argv[1], argv[2]);
    fflush(stdout);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            if (c->len > c->off) { /* finish a pending write first */
                ssize_t w = write(c->fd, c->buf + c->off, c->len - c->off);
                if (w < 0 && errno != EAGAIN) { drop(ep, c); continue; }
                if (w > 0) c->off += (size_t)w;
                if (c->off < c->len) continue;
                c->off = c->len = 0;
                struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ce);
            }
            ssize_t r = read(c->fd, c->buf, BUF);
            if (r == 0 || (r < 0 && errno != EAGAIN)) { drop(ep, c); continue; }
            if (r < 0) continue;
            ssize_t w = write(c->fd, c->buf, (size_t)r);
            if (w < 0 && errno != EAGAIN) { drop(ep, c); continue; }
            if (w < r) {
                c->off = w > 0 ? (size_t)w : 0;
                c->len = (size_t)r;
                struct epoll_event ce = {.events = EPOLLOUT, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ce);
            }
        }
    }
}
