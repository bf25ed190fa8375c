// doorway's load generator: one thread, epoll, every reply checked.
//
// Compiled by bench/run.ts at bench time (cc -O2). Modes:
//
//   rr    --conns N --depth D [--line L]  request/reply: each connection sends
//         D lines in one write, waits for all D replies, checks them, repeats.
//         Reports requests/s and per-request latency (batch sent -> reply line
//         complete): p50, p99.
//   bulk  [--line L] [--window W]  one connection streams lines through the
//         server, keeping at most W bytes unanswered; reports MB/s of replies.
//   cps   --conns K  K connectors in parallel, each: connect, send one line,
//         read its reply, close; reports connections/s.
//   idle  --conns N  opens N connections (one round trip on each), prints a
//         READY line, waits for a line on stdin, checks that every connection
//         is still open, closes them, prints the result.
//   udp   --conns N  N client sockets, each with one datagram in flight.
//
// Common: --host H (127.0.0.1) --port P --warmup S --duration S.
//
// rr and bulk also take --tls (TLS over each connection, OpenSSL; the
// server's certificate is not verified: the bench makes it itself) and
// --unix PATH (a Unix socket instead of TCP; in a list of ports,
// unix:PATH). Every TLS handshake completes before the first request, so
// none falls in the warm-up or the measured part. Built with
// -DLOADGEN_NO_TLS (no OpenSSL headers), --tls fails with a message.
//
// Interleaved (rr, cps, udp): --port P1,P2,... (up to 8) --slice S (0.05)
// loads one server at a time, in slices of S seconds, in the order
// P1 P2 ... Pn P1 P2 ...; a slice stops sending once its time is up and
// ends when every request of it is answered. Warm-up and the measured part
// are whole cycles; --duration is the measured time of all servers together.
// One JSON line then reports each server's requests and busy seconds.
// A request line is L-1 lowercase ASCII letters and '\n' (12 bytes by
// default) and differs from every other line of its connection; its reply
// must be the same bytes uppercased. Any wrong, extra or missing byte, a
// reset, an end of stream, or a reply later than --timeout seconds fails the
// run: exit status 2 and {"error": ...} on stdout. Success: {"phase":
// "measure"} when the measured window starts, then one JSON line of results.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef LOADGEN_NO_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#else
typedef struct ssl_st SSL;
#endif

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static const char *host = "127.0.0.1";
static int nconns = 1;
static int depth = 1;
static int line_len = 12;
static double warmup_s = 0.5;
static double duration_s = 2.0;
static double timeout_s = 10.0;
static size_t window = 1 << 20;
static int epfd;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fail(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  // JSON-safe: the messages below hold no quotes or backslashes, but bytes
  // from the wire may; replace them.
  for (char *p = msg; *p; p++)
    if (*p == '"' || *p == '\\' || (unsigned char)*p < 32) *p = '?';
  printf("{\"error\":\"%s\"}\n", msg);
  fflush(stdout);
  exit(2);
}

// ---- request lines ----------------------------------------------------------

// Byte i of line `seq` on connection `conn`, lowercase: the first 10 letters
// spell seq in base 26, the rest depend on the position and the connection.
static void make_line(char *out, int len, int conn, uint64_t seq) {
  int i;
  uint64_t s = seq;
  for (i = 9; i >= 0; i--) {
    char c = (char)('a' + s % 26);
    s /= 26;
    if (i < len - 1) out[i] = c;
  }
  for (i = 10; i < len - 1; i++) out[i] = (char)('a' + (i * 7 + conn) % 26);
  out[len - 1] = '\n';
}

// Lines seq .. seq+count-1 of a connection, back to back: the first spelled
// out in base 26, the others by counting up in place, which is cheaper than
// ten divisions per line.
static void make_lines(char *out, int len, int conn, uint64_t seq, int count) {
  make_line(out, len, conn, seq);
  for (int k = 1; k < count; k++) {
    char *line = out + (size_t)k * len;
    if (len - 1 < 10) {
      make_line(line, len, conn, seq + (uint64_t)k);
      continue;
    }
    memcpy(line, line - len, (size_t)len);
    for (int i = 9; i >= 0; i--) {
      if (line[i] != 'z') {
        line[i]++;
        break;
      }
      line[i] = 'a';
    }
  }
}

static void upper(char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] >= 'a' && p[i] <= 'z') p[i] = (char)(p[i] - 32);
}

static void describe_mismatch(const char *what, const char *expected, const char *got, size_t n) {
  char e[64], g[64];
  size_t m = n < 40 ? n : 40;
  memcpy(e, expected, m);
  memcpy(g, got, m);
  e[m] = g[m] = 0;
  fail("%s: wrong reply: expected [%s] got [%s]", what, e, g);
}

// ---- latency samples --------------------------------------------------------

// One set per server: latency in ns, sorted before percentiles are read.
typedef struct {
  uint32_t *v;
  size_t n, cap;
} sample_set;

#define MAX_PORTS 8
static sample_set samples[MAX_PORTS];

static void add_sample(int p, uint64_t ns) {
  sample_set *s = &samples[p];
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 1 << 20;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
    if (!s->v) fail("out of memory");
  }
  s->v[s->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void sort_samples(int p) { qsort(samples[p].v, samples[p].n, sizeof *samples[p].v, cmp_u32); }

static double percentile_us(int p, double q) {
  const sample_set *s = &samples[p];
  if (s->n == 0) return 0;
  size_t i = (size_t)(q * (double)(s->n - 1) + 0.5);
  return s->v[i] / 1000.0;
}

// ---- sockets ----------------------------------------------------------------

static int source_ip = 0;
static int nports = 0;
static int ports[MAX_PORTS];            // 0 for a Unix socket
static const char *paths[MAX_PORTS];    // a Unix socket's path, or NULL
static struct sockaddr_in servers[MAX_PORTS];
static struct sockaddr_un unix_servers[MAX_PORTS];
static int use_tls = 0;

// A non-blocking TCP socket with a connect in progress. Source addresses
// rotate over 127.0.0.1-127.0.0.100 so that connection churn cannot run out of
// ephemeral ports. Those connections (cps, idle) make one write each, which
// Nagle's algorithm never holds back (nothing is unacknowledged), so they skip
// TCP_NODELAY; a mode that writes twice on one would need it. A Unix socket's
// connect completes at once or fails (EAGAIN: the server's backlog is full).
static int start_connect(int p, int rotate) {
  if (paths[p] != NULL) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&unix_servers[p], sizeof unix_servers[p]) < 0)
      fail("connect %s: %s", paths[p], strerror(errno));
    return fd;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) fail("socket: %s", strerror(errno));
  int one = 1;
  if (!rotate) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (rotate) {
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(source_ip++ % 100));
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) fail("bind: %s", strerror(errno));
  }
  if (connect(fd, (struct sockaddr *)&servers[p], sizeof servers[p]) < 0 && errno != EINPROGRESS)
    fail("connect: %s", strerror(errno));
  return fd;
}

static void ep(int op, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  if (epoll_ctl(epfd, op, fd, &ev) < 0) fail("epoll_ctl: %s", strerror(errno));
}

static void check_connected(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) fail("connect: %s", strerror(err));
}

// ---- TLS: the same calls as recv() and send() --------------------------------

#ifndef LOADGEN_NO_TLS
static SSL_CTX *tls_ctx;

static void tls_fail(const char *what) {
  char msg[256];
  unsigned long e = ERR_get_error();
  if (e) ERR_error_string_n(e, msg, sizeof msg);
  else snprintf(msg, sizeof msg, "%s", errno ? strerror(errno) : "connection closed");
  fail("%s: %s", what, msg);
}

static void tls_init(void) {
  tls_ctx = SSL_CTX_new(TLS_client_method());
  if (tls_ctx == NULL) tls_fail("TLS setup");
  SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
  // Read ahead: a read takes every record the kernel has, not a header and
  // then a body. Partial writes: bulk sends up to a record at a time, and
  // retries from where the window now starts, which is the same bytes.
  SSL_CTX_set_read_ahead(tls_ctx, 1);
  SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  // A server that closes without close_notify reads as an end of stream, as on TCP.
  SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
}

static SSL *tls_new(int fd) {
  SSL *ssl = SSL_new(tls_ctx);
  if (ssl == NULL || !SSL_set_fd(ssl, fd)) tls_fail("TLS setup");
  SSL_set_tlsext_host_name(ssl, "localhost");
  SSL_set_connect_state(ssl);
  return ssl;
}

// Advances a handshake: 0 once it is complete, else the epoll events it waits for.
static uint32_t tls_handshake(SSL *ssl) {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl);
  if (r == 1) return 0;
  int err = SSL_get_error(ssl, r);
  if (err == SSL_ERROR_WANT_READ) return EPOLLIN;
  if (err == SSL_ERROR_WANT_WRITE) return EPOLLOUT;
  tls_fail("TLS handshake");
  return 0;
}

// recv()'s and send()'s results: bytes, 0 at the end of the stream, or -1
// with errno EAGAIN while the record layer waits for the socket.
static ssize_t tls_result(SSL *ssl, int r, const char *what) {
  if (r > 0) return r;
  int err = SSL_get_error(ssl, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  tls_fail(what);
  return -1;
}

// No ERR_clear_error() before reads and writes (2.5% of the load
// generator's time at rr-32x1): an error stops the run, so the error queue
// is always empty here.
static ssize_t stream_recv(int fd, SSL *ssl, char *buf, size_t n) {
  if (ssl == NULL) return recv(fd, buf, n, 0);
  return tls_result(ssl, SSL_read(ssl, buf, n > 1 << 30 ? 1 << 30 : (int)n), "TLS read");
}

static ssize_t stream_send(int fd, SSL *ssl, const char *buf, size_t n) {
  if (ssl == NULL) return send(fd, buf, n, MSG_NOSIGNAL);
  return tls_result(ssl, SSL_write(ssl, buf, n > 1 << 30 ? 1 << 30 : (int)n), "TLS write");
}

// Decrypted bytes, or records read ahead, that no read has returned yet:
// epoll cannot see them.
static int stream_pending(SSL *ssl) { return ssl != NULL && SSL_has_pending(ssl); }
#else
static void tls_init(void) {
  fail("--tls: this load generator was built without OpenSSL (install its headers, e.g. libssl-dev, and run again)");
}
static SSL *tls_new(int fd) { return NULL; }
static uint32_t tls_handshake(SSL *ssl) { return 0; }
static ssize_t stream_recv(int fd, SSL *ssl, char *buf, size_t n) { return recv(fd, buf, n, 0); }
static ssize_t stream_send(int fd, SSL *ssl, const char *buf, size_t n) { return send(fd, buf, n, MSG_NOSIGNAL); }
static int stream_pending(SSL *ssl) { return 0; }
#endif

// Writes all of buf or fails: requests are small and the socket's buffer
// empty, so a short write means something is badly wrong.
static void write_all(int fd, SSL *ssl, const char *buf, size_t n) {
  size_t off = 0;
  while (off < n) {
    ssize_t w = stream_send(fd, ssl, buf + off, n - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
        continue;
      }
      fail("write: %s", strerror(errno));
    }
    off += (size_t)w;
  }
}

// Tells the orchestrator that the measured window starts now, so that it
// can read the server's CPU time.
static void announce_measuring(void) {
  printf("{\"phase\":\"measure\"}\n");
  fflush(stdout);
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

// The measured part of a run: it starts once warmup_s have passed since t0
// and lasts duration_s. Each measuring mode (rr, bulk, cps, udp) keeps one.
typedef struct {
  uint64_t t0, start, end;
  double cpu0;
  int measuring;
} timing;

static timing timing_new(void) { return (timing){.t0 = now_ns()}; }

// Starts measuring once the warm-up is over; 1 exactly when it starts.
static int timing_tick(timing *w, uint64_t now) {
  if (w->measuring || now - w->t0 < (uint64_t)(warmup_s * 1e9)) return 0;
  w->measuring = 1;
  announce_measuring();
  w->start = now;
  w->end = now + (uint64_t)(duration_s * 1e9);
  w->cpu0 = cpu_seconds();
  return 1;
}

static int timing_over(const timing *w, uint64_t now) { return w->measuring && now >= w->end; }

// The measured time, and the load generator's own CPU use over it.
static void timing_result(const timing *w, double *secs, double *cpu) {
  *secs = (double)(now_ns() - w->start) / 1e9;
  *cpu = (cpu_seconds() - w->cpu0) / *secs;
}

// ---- slices: one server loaded at a time (rr, cps, udp) ---------------------

// With one server the warm-up is one slice and the measured part another.
// With several, slices of --slice seconds go round them (see the top), so
// that a change of the machine's speed slower than a slice falls on every
// server alike. Two Node servers within 2% of each other, 1 s each: in turns
// a second long their ratio ranged over 0.64-1.25 in 16 rounds; in slices of
// 0.2 s over 0.92-0.99, of 0.1 s 0.92-1.02, of 0.05 s 0.977-1.009.
static double slice_s = 0.05;

typedef struct {
  uint64_t t0;        // the load began
  int step;           // slices begun
  int port;           // whose slice this is
  uint64_t start;     // when it began
  uint64_t stop;      // when it stops sending new requests
  int measuring;      // this slice counts
  uint64_t measured_from;
  double slice_cpu0;               // the load generator's CPU time when it began
  uint64_t busy[MAX_PORTS];        // ns of measured slices, per server
  double cpu[MAX_PORTS];           // the load generator's CPU seconds in them
  uint64_t completed[MAX_PORTS];   // requests (or connections) answered in them
} rotation;

static void rotation_measure(rotation *r, uint64_t now) {
  r->measuring = 1;
  announce_measuring();
  r->measured_from = now;
}

// Ends the slice that has drained (if any) and begins the next: 0 once the
// measured part is over. Warm-up and measured part change only between
// cycles, so every server gets as many measured slices as the others. The
// order is plain round-robin, so every server waits as long between its
// slices: in A B … B A order the servers at the ends, idle for twice as long
// between their pairs of slices, got the slow one of this VM's two modes of
// wake-up latency at one connection (p50 ~50 µs against ~18 µs) in half or
// more of the rounds, doorway and the raw server alike, and doorway's ratios
// at `rr-1x1` with them (0.69-0.83x, where turns had given 0.97-0.98x).
// run.ts changes the cyclic order from round to round, so that each server
// follows each of the others as often (docs/performance.md, "How the bench
// measures").
static int rotation_next(rotation *r, uint64_t now) {
  if (r->step == 0) {
    r->t0 = now;
    if (warmup_s <= 0) rotation_measure(r, now);
  } else {
    if (r->measuring) {
      r->busy[r->port] += now - r->start;
      r->cpu[r->port] += cpu_seconds() - r->slice_cpu0;
    }
    if (r->step % nports == 0) {
      if (r->measuring) {
        if (now - r->measured_from >= (uint64_t)(duration_s * 1e9)) return 0;
      } else if (now - r->t0 >= (uint64_t)(warmup_s * 1e9)) {
        rotation_measure(r, now);
      }
    }
  }
  r->port = r->step % nports;
  r->step++;
  r->start = now;
  r->slice_cpu0 = cpu_seconds();
  double len = nports > 1 ? slice_s : r->measuring ? duration_s : warmup_s;
  r->stop = now + (uint64_t)(len * 1e9);
  return 1;
}

// Once the last slice has drained, nothing more may arrive: a late or extra
// reply, or a connection closing, fails the run as it would mid-run.
static void expect_quiet(void) {
  struct epoll_event ev;
  int n = epoll_wait(epfd, &ev, 1, 10);
  if (n > 0) fail("connection or client %d: bytes or end of stream after the last reply", (int)ev.data.u64);
}

// Ends a run: checks that nothing more arrives, then prints the result line:
// with one server, its figures (as before interleaving); with several, one
// entry per server. `unit` names the count ("requests",
// "connections"), `rate` its per-second field ("rps", "cps").
static void rotation_finish(rotation *r, const char *head, const char *unit, const char *rate) {
  // The measured part ended with the last slice, before the quiet check.
  double wall = (double)(now_ns() - r->measured_from) / 1e9;
  expect_quiet();
  for (int p = 0; p < nports; p++) sort_samples(p);
  if (nports == 1) {
    double secs = (double)r->busy[0] / 1e9;
    printf("{%s,\"%s\":%llu,\"seconds\":%.3f,\"%s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"loadgen_cpu\":%.3f}\n", head,
           unit, (unsigned long long)r->completed[0], secs, rate, r->completed[0] / secs, percentile_us(0, 0.5),
           percentile_us(0, 0.99), r->cpu[0] / secs);
    return;
  }
  // The load generator's CPU is given per server, over its slices: one
  // server's slices may keep it busy while the average over all would not.
  printf("{%s,\"seconds\":%.3f,\"servers\":[", head, wall);
  for (int p = 0; p < nports; p++) {
    double secs = (double)r->busy[p] / 1e9;
    printf("%s{\"port\":%d,\"%s\":%llu,\"seconds\":%.3f,\"%s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
           "\"loadgen_cpu\":%.3f}",
           p ? "," : "", ports[p], unit, (unsigned long long)r->completed[p], secs, rate, r->completed[p] / secs,
           percentile_us(p, 0.5), percentile_us(p, 0.99), r->cpu[p] / secs);
  }
  printf("]}\n");
}


// ---- rr: request/reply with D lines in flight per connection ----------------

typedef struct {
  int fd;
  SSL *ssl;             // with --tls
  int state;            // 0 connecting, 1 in its TLS handshake, 2 ready
  uint64_t seq;         // lines sent so far
  uint64_t sent_at;     // when the current batch went out
  char *expect;         // the current batch's replies
  size_t expect_len, got;  // got == expect_len: no batch in flight
} rr_conn;

static char readbuf[256 * 1024];

static void rr_send(rr_conn *c, int id, char *out) {
  make_lines(out, line_len, id, c->seq, depth);
  memcpy(c->expect, out, c->expect_len);
  upper(c->expect, c->expect_len);
  c->seq += depth;
  c->got = 0;
  c->sent_at = now_ns();
  write_all(c->fd, c->ssl, out, c->expect_len);
}

static int run_rr(void) {
  // Connection i belongs to server i / nconns.
  int total = nconns * nports;
  rr_conn *cs = calloc((size_t)total, sizeof *cs);
  char *out = malloc((size_t)depth * line_len);
  int pending = total, inflight = 0;
  for (int i = 0; i < total; i++) {
    cs[i].fd = start_connect(i / nconns, 0);
    cs[i].expect_len = cs[i].got = (size_t)depth * line_len;
    cs[i].expect = malloc(cs[i].expect_len);
    ep(EPOLL_CTL_ADD, cs[i].fd, EPOLLOUT, (uint64_t)i);
  }
  struct epoll_event evs[512];
  rotation r = {0};
  uint64_t t0 = now_ns();
  uint64_t timeout_ns = (uint64_t)(timeout_s * 1e9);
  for (;;) {
    int n = epoll_wait(epfd, evs, 512, 10);
    uint64_t now = now_ns();
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("epoll_wait: %s", strerror(errno));
    }
    for (int e = 0; e < n; e++) {
      int id = (int)evs[e].data.u64;
      rr_conn *c = &cs[id];
      if (c->state < 2) {
        if (c->state == 0) {
          check_connected(c->fd);
          c->state = 1;
          if (use_tls) c->ssl = tls_new(c->fd);
        }
        // Every handshake completes here, before the first request.
        uint32_t wait = c->ssl != NULL ? tls_handshake(c->ssl) : 0;
        if (wait) {
          ep(EPOLL_CTL_MOD, c->fd, wait, (uint64_t)id);
          continue;
        }
        c->state = 2;
        ep(EPOLL_CTL_MOD, c->fd, EPOLLIN, (uint64_t)id);
        pending--;
        continue;
      }
      // One read per event on a plain socket (epoll reports what is left);
      // over TLS, on while the record layer holds bytes epoll cannot see.
      do {
        ssize_t got = stream_recv(c->fd, c->ssl, readbuf, sizeof readbuf);
        if (got < 0) {
          if (errno == EAGAIN || errno == EINTR) break;
          fail("connection %d: read: %s", id, strerror(errno));
        }
        if (got == 0) fail("connection %d: server closed the connection", id);
        if (c->got + (size_t)got > c->expect_len) fail("connection %d: unexpected bytes after the replies", id);
        if (memcmp(c->expect + c->got, readbuf, (size_t)got) != 0)
          describe_mismatch("rr", c->expect + c->got, readbuf, (size_t)got);
        // Each request whose reply line is now complete gets its latency.
        size_t before = c->got / line_len;
        c->got += (size_t)got;
        size_t after = c->got / line_len;
        if (r.measuring) {
          uint64_t t = now_ns();
          for (size_t k = before; k < after; k++) add_sample(r.port, t - c->sent_at);
          r.completed[r.port] += after - before;
        }
        if (c->got == c->expect_len) {
          if (now_ns() < r.stop) rr_send(c, id, out);
          else inflight--;
        }
      } while (stream_pending(c->ssl));
    }
    now = now_ns();
    if (pending > 0) {
      if (now - t0 > timeout_ns) fail("connect timed out");
      continue;
    }
    if (inflight == 0) {
      if (!rotation_next(&r, now)) break;
      for (int i = r.port * nconns; i < (r.port + 1) * nconns; i++) rr_send(&cs[i], i, out);
      inflight = nconns;
    }
    for (int i = r.port * nconns; i < (r.port + 1) * nconns; i++)
      if (cs[i].got < cs[i].expect_len && now > cs[i].sent_at + timeout_ns)
        fail("connection %d: no complete reply after %.0f s (missing reply)", i, timeout_s);
  }
  char head[128];
  snprintf(head, sizeof head, "\"mode\":\"rr\",\"conns\":%d,\"depth\":%d,\"line\":%d", nconns, depth, line_len);
  rotation_finish(&r, head, "requests", "rps");
  return 0;
}

// ---- bulk: one connection streaming lines -----------------------------------

// The stream repeats a pattern of BULK_LINES distinct lines, made once, so
// that the load generator only sends and compares memory: it must be cheaper
// per byte than any server it measures.
#define BULK_LINES 1024

static int run_bulk(void) {
  int fd = start_connect(0, 0);
  ep(EPOLL_CTL_ADD, fd, EPOLLOUT, 0);
  struct epoll_event evs[4];
  int n;
  while ((n = epoll_wait(epfd, evs, 4, (int)(timeout_s * 1000))) == 0 || (n < 0 && errno == EINTR)) {
    if (n == 0) fail("connect timed out");
  }
  check_connected(fd);
  SSL *ssl = use_tls ? tls_new(fd) : NULL;
  // The handshake, before the warm-up's clock starts.
  for (uint32_t wait; ssl != NULL && (wait = tls_handshake(ssl));) {
    ep(EPOLL_CTL_MOD, fd, wait, 0);
    while ((n = epoll_wait(epfd, evs, 4, (int)(timeout_s * 1000))) == 0 || (n < 0 && errno == EINTR)) {
      if (n == 0) fail("TLS handshake timed out");
    }
  }
  ep(EPOLL_CTL_MOD, fd, EPOLLIN | EPOLLOUT, 0);
  // Line k of the stream is line k % BULK_LINES of the pattern; its reply is
  // the same uppercased. The pattern is stored twice over, so that any
  // window of up to one pattern length is one contiguous run of memory.
  size_t period = (size_t)BULK_LINES * (size_t)line_len;
  char *pattern = malloc(2 * period), *expect = malloc(2 * period);
  for (int k = 0; k < 2 * BULK_LINES; k++) make_line(pattern + (size_t)k * line_len, line_len, 0, (uint64_t)(k % BULK_LINES));
  memcpy(expect, pattern, 2 * period);
  upper(expect, 2 * period);
  if (window > period) window = period;
  uint64_t sent = 0, received = 0;  // stream offsets
  timing w = timing_new();
  uint64_t measured_from = 0, last_progress = w.t0;
  int want_out = 1;
  uint64_t timeout_ns = (uint64_t)(timeout_s * 1e9);
  for (;;) {
    // Send while the window allows.
    while (sent - received < window) {
      size_t want = window - (size_t)(sent - received);
      ssize_t w = stream_send(fd, ssl, pattern + sent % period, want);
      if (w < 0) {
        if (errno == EAGAIN) break;
        if (errno == EINTR) continue;
        fail("write: %s", strerror(errno));
      }
      sent += (uint64_t)w;
    }
    int need_out = sent - received < window;
    if (need_out != want_out) {
      ep(EPOLL_CTL_MOD, fd, EPOLLIN | (need_out ? EPOLLOUT : 0), 0);
      want_out = need_out;
    }
    n = epoll_wait(epfd, evs, 4, 10);
    uint64_t now = now_ns();
    size_t most = sizeof readbuf < period ? sizeof readbuf : period;
    for (;;) {
      ssize_t r = stream_recv(fd, ssl, readbuf, most);
      if (r < 0) {
        if (errno == EAGAIN) break;
        if (errno == EINTR) continue;
        fail("read: %s", strerror(errno));
      }
      if (r == 0) fail("server closed the connection");
      if (received + (uint64_t)r > sent) fail("more bytes back than were sent");
      // r <= period: one contiguous run of `expect`.
      const char *want = expect + received % period;
      if (memcmp(want, readbuf, (size_t)r) != 0) {
        size_t i = 0;
        while (want[i] == readbuf[i]) i++;
        describe_mismatch("bulk", want + i, readbuf + i, (size_t)r - i);
      }
      received += (uint64_t)r;
      last_progress = now;
    }
    if (timing_tick(&w, now)) measured_from = received;
    if (timing_over(&w, now)) break;
    if (now - last_progress > timeout_ns) fail("no reply bytes for %.0f s (missing reply)", timeout_s);
  }
  double secs, cpu;
  timing_result(&w, &secs, &cpu);
  double mb = (double)(received - measured_from) / 1e6;
  printf("{\"mode\":\"bulk\",\"line\":%d,\"bytes\":%llu,\"seconds\":%.3f,\"mbps\":%.1f,\"loadgen_cpu\":%.3f}\n",
         line_len, (unsigned long long)(received - measured_from), secs, mb / secs, cpu);
  return 0;
}

// ---- cps: connect, one line, close -------------------------------------------

typedef struct {
  int fd;
  int state;  // 0 connecting, 1 awaiting the reply, 2 done for this slice
  uint64_t started, seq;
  size_t got;
  char expect[256];
} cps_slot;

static void cps_start(cps_slot *s, int id, int p) {
  s->fd = start_connect(p, 1);
  s->state = 0;
  s->got = 0;
  s->started = now_ns();
  // Edge-triggered, for both directions at once: the connect completing, then
  // the reply, without an epoll_ctl in between.
  ep(EPOLL_CTL_ADD, s->fd, EPOLLOUT | EPOLLIN | EPOLLET, (uint64_t)id);
}

static int run_cps(void) {
  cps_slot *slots = calloc((size_t)nconns, sizeof *slots);
  char line[256];
  uint64_t seq = 0;
  int inflight = 0;
  struct epoll_event evs[512];
  rotation r = {0};
  uint64_t timeout_ns = (uint64_t)(timeout_s * 1e9);
  for (;;) {
    uint64_t now = now_ns();
    if (inflight == 0) {
      if (!rotation_next(&r, now)) break;
      for (int i = 0; i < nconns; i++) cps_start(&slots[i], i, r.port);
      inflight = nconns;
    }
    int n = epoll_wait(epfd, evs, 512, 10);
    for (int e = 0; e < n; e++) {
      int id = (int)evs[e].data.u64;
      cps_slot *s = &slots[id];
      if (s->state == 0) {
        // A failed connect reports EPOLLERR; SO_ERROR is read only then.
        if (evs[e].events & (EPOLLERR | EPOLLHUP)) check_connected(s->fd);
        s->seq = seq++;
        make_line(line, line_len, id, s->seq);
        memcpy(s->expect, line, (size_t)line_len);
        upper(s->expect, (size_t)line_len);
        write_all(s->fd, NULL, line, (size_t)line_len);
        s->state = 1;
        continue;
      }
      // Edge-triggered: read until the reply is whole or nothing is left, so
      // that a part of it followed by the server's FIN or a reset, already
      // queued together, fails now rather than at the timeout.
      ssize_t got;
      do {
        got = recv(s->fd, readbuf, sizeof readbuf, 0);
        if (got < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN) break;
          fail("cps: read: %s", strerror(errno));
        }
        if (got == 0) fail("cps: server closed the connection before replying");
        if (s->got + (size_t)got > (size_t)line_len) fail("cps: unexpected bytes after the reply");
        if (memcmp(s->expect + s->got, readbuf, (size_t)got) != 0)
          describe_mismatch("cps", s->expect + s->got, readbuf, (size_t)got);
        s->got += (size_t)got;
      } while (s->got < (size_t)line_len);
      if (s->got < (size_t)line_len) continue;
      if (r.measuring) {
        r.completed[r.port]++;
        add_sample(r.port, now_ns() - s->started);
      }
      close(s->fd);  // also leaves the epoll set
      if (now_ns() < r.stop) {
        cps_start(s, id, r.port);
      } else {
        s->state = 2;
        inflight--;
      }
    }
    now = now_ns();
    for (int i = 0; i < nconns; i++)
      if (slots[i].state != 2 && now > slots[i].started + timeout_ns)
        fail("cps: connection %d got no reply in %.0f s", i, timeout_s);
  }
  char head[64];
  snprintf(head, sizeof head, "\"mode\":\"cps\",\"conns\":%d", nconns);
  rotation_finish(&r, head, "connections", "cps");
  return 0;
}

// ---- idle: many open connections, one round trip each -----------------------

static int run_idle(void) {
  int *fds = calloc((size_t)nconns, sizeof *fds);
  int *state = calloc((size_t)nconns, sizeof *state);  // 0 connecting, 1 awaiting, 2 idle
  size_t *got = calloc((size_t)nconns, sizeof *got);
  char line[256], expect[256];
  const int parallel = 256;
  int started = 0, idle = 0, inflight = 0;
  struct epoll_event evs[512];
  uint64_t t0 = now_ns();
  uint64_t timeout_ns = (uint64_t)(timeout_s * 1e9) * 3;
  while (idle < nconns) {
    while (inflight < parallel && started < nconns) {
      fds[started] = start_connect(0, 1);
      ep(EPOLL_CTL_ADD, fds[started], EPOLLOUT, (uint64_t)started);
      started++;
      inflight++;
    }
    int n = epoll_wait(epfd, evs, 512, 10);
    for (int e = 0; e < n; e++) {
      int id = (int)evs[e].data.u64;
      make_line(line, line_len, id, 0);
      if (state[id] == 0) {
        check_connected(fds[id]);
        write_all(fds[id], NULL, line, (size_t)line_len);
        state[id] = 1;
        ep(EPOLL_CTL_MOD, fds[id], EPOLLIN, (uint64_t)id);
        continue;
      }
      if (state[id] == 2) fail("idle: connection %d: unexpected bytes or end of stream", id);
      memcpy(expect, line, (size_t)line_len);
      upper(expect, (size_t)line_len);
      ssize_t r = recv(fds[id], readbuf, sizeof readbuf, 0);
      if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        fail("idle: read: %s", strerror(errno));
      }
      if (r == 0) fail("idle: server closed connection %d", id);
      if (got[id] + (size_t)r > (size_t)line_len) fail("idle: unexpected bytes after the reply");
      if (memcmp(expect + got[id], readbuf, (size_t)r) != 0)
        describe_mismatch("idle", expect + got[id], readbuf, (size_t)r);
      got[id] += (size_t)r;
      if (got[id] == (size_t)line_len) {
        state[id] = 2;
        idle++;
        inflight--;
      }
    }
    if (now_ns() - t0 > timeout_ns) fail("idle: only %d of %d connections open after %.0f s", idle, nconns, timeout_s * 3);
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  printf("{\"mode\":\"idle\",\"ready\":true,\"conns\":%d,\"seconds\":%.3f}\n", nconns, secs);
  fflush(stdout);
  // Hold them until told; the orchestrator reads the server's memory now.
  char cmd[64];
  if (!fgets(cmd, sizeof cmd, stdin)) {
  }
  // Every connection must still be open and quiet.
  int n = epoll_wait(epfd, evs, 512, 0);
  if (n > 0) fail("idle: connection %d closed or sent bytes while idle", (int)evs[0].data.u64);
  for (int i = 0; i < nconns; i++) close(fds[i]);
  printf("{\"mode\":\"idle\",\"conns\":%d,\"seconds\":%.3f}\n", nconns, secs);
  return 0;
}

// ---- udp: one datagram in flight per client socket ---------------------------

typedef struct {
  int fd;
  int waiting;  // a datagram is in flight
  uint64_t seq, sent_at;
  char expect[256];
} udp_client;

static void udp_send(udp_client *c, int id) {
  char line[256];
  // A datagram is one request: the line without its '\n'.
  make_line(line, line_len, id, c->seq++);
  memcpy(c->expect, line, (size_t)line_len - 1);
  upper(c->expect, (size_t)line_len - 1);
  c->sent_at = now_ns();
  c->waiting = 1;
  if (send(c->fd, line, (size_t)line_len - 1, 0) < 0) fail("udp: send: %s", strerror(errno));
}

static int run_udp(void) {
  // Client i sends to server i / nconns.
  int total = nconns * nports;
  udp_client *cs = calloc((size_t)total, sizeof *cs);
  for (int i = 0; i < total; i++) {
    cs[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (cs[i].fd < 0) fail("udp: socket: %s", strerror(errno));
    struct sockaddr_in *to = &servers[i / nconns];
    if (connect(cs[i].fd, (struct sockaddr *)to, sizeof *to) < 0) fail("udp: connect: %s", strerror(errno));
    ep(EPOLL_CTL_ADD, cs[i].fd, EPOLLIN, (uint64_t)i);
  }
  struct epoll_event evs[512];
  rotation r = {0};
  int inflight = 0;
  uint64_t timeout_ns = (uint64_t)(timeout_s * 1e9);
  for (;;) {
    uint64_t now = now_ns();
    if (inflight == 0) {
      if (!rotation_next(&r, now)) break;
      for (int i = r.port * nconns; i < (r.port + 1) * nconns; i++) udp_send(&cs[i], i);
      inflight = nconns;
    }
    int n = epoll_wait(epfd, evs, 512, 10);
    for (int e = 0; e < n; e++) {
      int id = (int)evs[e].data.u64;
      udp_client *c = &cs[id];
      ssize_t got = recv(c->fd, readbuf, sizeof readbuf, 0);
      if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        fail("udp: client %d: receive: %s", id, strerror(errno));
      }
      if (!c->waiting) fail("udp: client %d: a datagram it did not ask for", id);
      if ((size_t)got != (size_t)line_len - 1 || memcmp(c->expect, readbuf, (size_t)got) != 0)
        describe_mismatch("udp", c->expect, readbuf, (size_t)got < (size_t)line_len - 1 ? (size_t)got : (size_t)line_len - 1);
      c->waiting = 0;
      if (r.measuring) {
        r.completed[r.port]++;
        add_sample(r.port, now_ns() - c->sent_at);
      }
      if (now_ns() < r.stop) udp_send(c, id);
      else inflight--;
    }
    now = now_ns();
    for (int i = r.port * nconns; i < (r.port + 1) * nconns; i++)
      if (cs[i].waiting && now > cs[i].sent_at + timeout_ns)
        fail("udp: client %d: no reply in %.0f s (missing reply)", i, timeout_s);
  }
  char head[64];
  snprintf(head, sizeof head, "\"mode\":\"udp\",\"conns\":%d", nconns);
  rotation_finish(&r, head, "requests", "rps");
  return 0;
}

// One more server to load: a TCP port, or unix:PATH.
static int add_target(const char *p, size_t len) {
  if (nports == MAX_PORTS) {
    fprintf(stderr, "at most %d ports\n", MAX_PORTS);
    return 0;
  }
  if (len > 5 && !strncmp(p, "unix:", 5)) {
    if (len - 5 >= sizeof unix_servers[0].sun_path) {
      fprintf(stderr, "Unix socket path too long: %.*s\n", (int)len, p);
      return 0;
    }
    unix_servers[nports].sun_family = AF_UNIX;
    memcpy(unix_servers[nports].sun_path, p + 5, len - 5);
    paths[nports] = strndup(p + 5, len - 5);
    ports[nports++] = 0;
    return 1;
  }
  char *end;
  long port = strtol(p, &end, 10);
  if (end != p + len || port <= 0 || port > 65535) {
    fprintf(stderr, "bad port %.*s\n", (int)len, p);
    return 0;
  }
  ports[nports++] = (int)port;
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: loadgen rr|bulk|cps|idle|udp --port P [options]\n");
    return 1;
  }
  const char *mode = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *k = argv[i];
    if (!strcmp(k, "--tls")) {
      use_tls = 1;
      continue;
    }
    if (i + 1 == argc) {
      fprintf(stderr, "%s needs a value\n", k);
      return 1;
    }
    const char *v = argv[++i];
    if (!strcmp(k, "--host")) host = v;
    else if (!strcmp(k, "--port")) {
      // One port, or several to interleave: P1,P2,... (each may be unix:PATH).
      nports = 0;
      for (const char *p = v;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!add_target(p, len)) return 1;
        if (!comma) break;
        p = comma + 1;
      }
    } else if (!strcmp(k, "--unix")) {
      nports = 0;
      char target[256];
      snprintf(target, sizeof target, "unix:%s", v);
      if (!add_target(target, strlen(target))) return 1;
    } else if (!strcmp(k, "--slice")) slice_s = atof(v);
    else if (!strcmp(k, "--conns")) nconns = atoi(v);
    else if (!strcmp(k, "--depth")) depth = atoi(v);
    else if (!strcmp(k, "--line")) line_len = atoi(v);
    else if (!strcmp(k, "--warmup")) warmup_s = atof(v);
    else if (!strcmp(k, "--duration")) duration_s = atof(v);
    else if (!strcmp(k, "--timeout")) timeout_s = atof(v);
    else if (!strcmp(k, "--window")) window = (size_t)atol(v);
    else {
      fprintf(stderr, "unknown option %s\n", k);
      return 1;
    }
  }
  if (nports == 0 || slice_s <= 0 || nconns < 1 || depth < 1 || line_len < 2 || line_len > 200000) {
    fprintf(stderr, "bad options\n");
    return 1;
  }
  if (strcmp(mode, "bulk") != 0 && line_len > 200) {
    fprintf(stderr, "--line over 200 is for bulk only\n");
    return 1;
  }
  if (nports > 1 && (!strcmp(mode, "bulk") || !strcmp(mode, "idle"))) {
    fprintf(stderr, "%s takes one port\n", mode);
    return 1;
  }
  int unix_sockets = 0;
  for (int p = 0; p < nports; p++) unix_sockets |= paths[p] != NULL;
  if ((use_tls || unix_sockets) && strcmp(mode, "rr") != 0 && strcmp(mode, "bulk") != 0) {
    fprintf(stderr, "--tls and Unix sockets are for rr and bulk only\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  for (int p = 0; p < nports; p++) {
    if (paths[p] != NULL) continue;
    servers[p].sin_family = AF_INET;
    servers[p].sin_port = htons((uint16_t)ports[p]);
    if (inet_pton(AF_INET, host, &servers[p].sin_addr) != 1) {
      fprintf(stderr, "bad host %s\n", host);
      return 1;
    }
  }
  if (use_tls) tls_init();
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (!strcmp(mode, "rr")) return run_rr();
  if (!strcmp(mode, "bulk")) return run_bulk();
  if (!strcmp(mode, "cps")) return run_cps();
  if (!strcmp(mode, "idle")) return run_idle();
  if (!strcmp(mode, "udp")) return run_udp();
  fprintf(stderr, "unknown mode %s\n", mode);
  return 1;
}
