// The load generator's ceiling: a single-threaded epoll server in C that
// uppercases ASCII bytes in place and writes each chunk back. No JavaScript
// server can beat it, so what the load generator reaches against it shows
// the headroom it has over every other server measured.
//
// Usage: c_raw TCP_PORT      (0: any free port; prints the bound port)
//        c_raw --udp UDP_PORT
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void upper(char *p, ssize_t n) {
  for (ssize_t i = 0; i < n; i++)
    if (p[i] >= 'a' && p[i] <= 'z') p[i] = (char)(p[i] - 32);
}

static int bound_port(int fd) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  return ntohs(a.sin_port);
}

static int udp(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("bind");
    return 1;
  }
  printf("%d\n", bound_port(fd));
  fflush(stdout);
  char buf[65536];
  for (;;) {
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    if (n < 0) continue;
    upper(buf, n);
    sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
  }
}

// Per connection: bytes read but not yet written back.
typedef struct {
  char *pending;
  size_t len, off;
} conn;

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc > 2 && !strcmp(argv[1], "--udp")) return udp(atoi(argv[2]));
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0) {
    perror("listen");
    return 1;
  }
  printf("%d\n", bound_port(lfd));
  fflush(stdout);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  int cap = 65536;
  conn *conns = calloc((size_t)cap, sizeof *conns);
  static char buf[65536];
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          if (c >= cap) {
            close(c);
            continue;
          }
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      conn *c = &conns[fd];
      if (c->pending) {
        // Draining a write the kernel did not take at once.
        ssize_t w = write(fd, c->pending + c->off, c->len - c->off);
        if (w > 0) c->off += (size_t)w;
        if (w < 0 && errno != EAGAIN) goto drop;
        if (c->off == c->len) {
          free(c->pending);
          c->pending = NULL;
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = fd};
          epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) goto drop;
      upper(buf, r);
      ssize_t w = write(fd, buf, (size_t)r);
      if (w < 0 && errno != EAGAIN) goto drop;
      if (w < 0) w = 0;
      if (w < r) {
        c->len = (size_t)(r - w);
        c->off = 0;
        c->pending = malloc(c->len);
        memcpy(c->pending, buf + w, c->len);
        struct epoll_event cev = {.events = EPOLLOUT, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &cev);
      }
      continue;
    drop:
      free(c->pending);
      c->pending = NULL;
      close(fd);
    }
  }
}
