/*
 * The data loop of a TFTP read transfer of a file (RFC 1350, RFC 2347 OACK, RFC 7440 windows),
 * on its own thread. Per lock-step block: one sendmsg (header and file bytes as two iovecs, no
 * copy) and one blocking recv whose SO_RCVTIMEO is the retransmit timeout; the file is read with
 * pread in chunks of CHUNK bytes, a window burst goes out with sendmmsg.
 *
 * The state machine is the one of src/tftp/transfer.ts: only the timer retransmits (a duplicate
 * or late ACK never does, so no Sorcerer's Apprentice, RFC 1123 4.2.3.1); block numbers roll
 * over 65535 -> 0 on the wire; the timeout doubles per retry up to maxTimeoutMs and resets on
 * progress; 'sent' once the last (short, maybe empty) block is acknowledged.
 */
#define _GNU_SOURCE
#include "transfer.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum { OP_DATA = 3, OP_ACK = 4, OP_ERROR = 5, ERR_NOT_DEFINED = 0, ERR_OPTION_REFUSED = 8 };
/* Datagrams per sendmmsg call (a window is sent in batches of this many). */
#define BATCH 64
/* File bytes read per pread, rounded to whole blocks; at least two windows. */
#define CHUNK (256 * 1024)

/* The thread's working state for one transfer. */
typedef struct {
  transfer *t;
  int sock;
  int phase_oack;
  uint8_t *buf;
  size_t cap;
  uint64_t buf_start, buf_end; /* file bytes held in buf */
  uint64_t acked, sent, last;  /* block indexes from 1, never wrapped */
  uint32_t last_len;
  uint32_t timeout_ms, retries_left;
  uint64_t deadline_ns;
  int fresh;         /* nothing received since the deadline was armed: wait the full timeout */
  long rcvtimeo_us;  /* SO_RCVTIMEO currently set on the socket */
  const char *done;  /* outcome once decided */
  uint8_t hdr[BATCH][4];
  struct iovec iov[BATCH][2];
  struct mmsghdr msgs[BATCH];
} run;

uint64_t transfer_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void transfer_unref(transfer *t) {
  if (atomic_fetch_sub(&t->refs, 1) != 1) return;
  pthread_mutex_destroy(&t->lock);
  free(t->oack);
  free(t);
}

static void finish(run *r, const char *result, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void finish(run *r, const char *result, const char *fmt, ...) {
  if (r->done) return;
  r->done = result;
  transfer *t = r->t;
  t->result = result;
  t->has_error = fmt != NULL;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->error, sizeof t->error, fmt, ap);
    va_end(ap);
  }
}

/* Sends one datagram; an ICMP port unreachable reported here ends the transfer like on recv. */
static void send_one(run *r, const void *p, size_t n) {
  while (send(r->sock, p, n, 0) < 0) {
    if (errno == EINTR) continue;
    if (errno == ECONNREFUSED) finish(r, "closed", "client port unreachable");
    /* Anything else (ENOBUFS, ...) is a lost datagram: the timer resends it. */
    return;
  }
}

static void arm(run *r) {
  r->deadline_ns = transfer_now_ns() + (uint64_t)r->timeout_ms * 1000000u;
  r->fresh = 1;
}

/* Makes buf hold file bytes [from, to): reads from the first unacknowledged block on, keeping
 * what is already loaded. Returns 0, or -1 with the transfer finished as 'source-error'. */
static int fill(run *r, uint64_t from, uint64_t to) {
  if (from >= r->buf_start && to <= r->buf_end) return 0;
  transfer *t = r->t;
  uint64_t start = r->acked * t->blksize;
  uint64_t end = start + r->cap < t->size ? start + r->cap : t->size;
  size_t keep = 0;
  if (r->buf_start <= start && start < r->buf_end) {
    keep = (size_t)(r->buf_end - start);
    memmove(r->buf, r->buf + (start - r->buf_start), keep);
  }
  uint64_t at = start + keep;
  while (at < end) {
    ssize_t n = pread(t->fd, r->buf + (at - start), (size_t)(end - at), (off_t)at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      finish(r, "source-error", "cannot read the file: %s", strerror(errno));
      return -1;
    }
    if (n == 0) {
      finish(r, "source-error", "file ends at byte %llu, before its size %llu (truncated while sending?)", (unsigned long long)at,
             (unsigned long long)t->size);
      return -1;
    }
    at += (uint64_t)n;
  }
  r->buf_start = start;
  r->buf_end = end;
  if (to <= end) return 0;
  finish(r, "source-error", "window of %llu bytes does not fit the read buffer", (unsigned long long)(to - from));
  return -1;
}

/* Sends blocks from `from` to the end of the window after the last ACK (RFC 7440), then arms. */
static void send_window(run *r, uint64_t from) {
  transfer *t = r->t;
  uint64_t until = r->acked + t->windowsize < r->last ? r->acked + t->windowsize : r->last;
  if (from <= until) {
    uint64_t to = until * t->blksize < t->size ? until * t->blksize : t->size;
    if (fill(r, (from - 1) * t->blksize, to) < 0) return;
  }
  for (uint64_t i = from; i <= until && !r->done;) {
    unsigned n = 0;
    for (; n < BATCH && i + n <= until; n++) {
      uint64_t block = i + n;
      uint64_t off = (block - 1) * t->blksize;
      size_t len = block == r->last ? r->last_len : t->blksize;
      r->hdr[n][0] = 0;
      r->hdr[n][1] = OP_DATA;
      r->hdr[n][2] = (uint8_t)(block >> 8);
      r->hdr[n][3] = (uint8_t)block;
      r->iov[n][0] = (struct iovec){r->hdr[n], 4};
      r->iov[n][1] = (struct iovec){r->buf + (off - r->buf_start), len};
      r->msgs[n].msg_hdr = (struct msghdr){.msg_iov = r->iov[n], .msg_iovlen = 2};
    }
    int sent = n == 1 ? (sendmsg(r->sock, &r->msgs[0].msg_hdr, 0) < 0 ? -1 : 1) : sendmmsg(r->sock, r->msgs, n, 0);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && errno == ECONNREFUSED) finish(r, "closed", "client port unreachable");
    /* Other failures (ENOBUFS, ...) lose the rest of this batch: the timer resends. */
    i += sent > 0 ? (uint64_t)sent : n;
  }
  if (until > r->sent) r->sent = until;
  arm(r);
}

static void reset_backoff(run *r) {
  r->timeout_ms = r->t->timeout_ms;
  r->retries_left = r->t->retries;
}

static void on_ack(run *r, uint16_t wire) {
  if (r->phase_oack) {
    if (wire != 0) return;
    r->phase_oack = 0;
    reset_backoff(r);
    send_window(r, 1);
    return;
  }
  /* Map the 16-bit number onto the blocks in flight; anything else is a duplicate or stale. */
  uint64_t delta = (uint16_t)(wire - (uint16_t)r->acked);
  if (delta == 0 || r->acked + delta > r->sent) return;
  r->acked += delta;
  reset_backoff(r);
  if (r->acked >= r->last) {
    finish(r, "sent", NULL);
    return;
  }
  /* A mid-window ACK means the client missed a block: resend from the one after it (RFC 7440 4). */
  send_window(r, r->acked + 1);
}

static void on_packet(run *r, const uint8_t *p, size_t n) {
  if (n < 4 || p[0] != 0) return;
  if (p[1] == OP_ACK) {
    on_ack(r, (uint16_t)(p[2] << 8 | p[3]));
  } else if (p[1] == OP_ERROR) {
    unsigned code = (unsigned)(p[2] << 8 | p[3]);
    size_t len = strnlen((const char *)p + 4, n - 4);
    const char *result = r->phase_oack && code == ERR_OPTION_REFUSED ? "options-declined" : "client-error";
    finish(r, result, "client error %u: %.*s", code, (int)len, (const char *)p + 4);
  }
  /* Anything else on a read transfer (DATA, requests) is ignored, not fatal. */
}

static void on_timer(run *r) {
  if (r->retries_left == 0) {
    finish(r, "timeout", "no ACK after %u retransmissions", r->t->retries);
    return;
  }
  r->retries_left--;
  r->t->retransmits++;
  r->timeout_ms = r->timeout_ms * 2 < r->t->max_timeout_ms ? r->timeout_ms * 2 : r->t->max_timeout_ms;
  if (r->phase_oack) {
    send_one(r, r->t->oack, r->t->oack_len);
    arm(r);
  } else {
    send_window(r, r->acked + 1);
  }
}

static int abort_reason(run *r) {
  if (!atomic_load(&r->t->aborted)) return 0;
  pthread_mutex_lock(&r->t->lock);
  finish(r, "closed", "%s", r->t->reason);
  pthread_mutex_unlock(&r->t->lock);
  return 1;
}

/* Waits for packets until the transfer is decided. */
static void loop(run *r) {
  uint8_t pkt[1024];
  while (!r->done && !abort_reason(r)) {
    long wait_us = (long)r->timeout_ms * 1000;
    if (!r->fresh) {
      /* Ignored packets arrived since the deadline was set: wait only for what is left of it. */
      uint64_t now = transfer_now_ns();
      if (now >= r->deadline_ns) {
        on_timer(r);
        continue;
      }
      wait_us = (long)((r->deadline_ns - now + 999) / 1000);
    }
    if (wait_us != r->rcvtimeo_us) {
      struct timeval tv = {.tv_sec = wait_us / 1000000, .tv_usec = wait_us % 1000000};
      setsockopt(r->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      r->rcvtimeo_us = wait_us;
    }
    ssize_t n = recv(r->sock, pkt, sizeof pkt, 0);
    r->fresh = 0;
    if (abort_reason(r)) return;
    if (n >= 0) {
      on_packet(r, pkt, (size_t)n);
    } else if (errno == ECONNREFUSED) {
      /* ICMP port unreachable: the client has gone away; stop instead of retrying for seconds.
       * Linux reports the pending error before datagrams already queued, so the client's final
       * ACK may sit behind it (a retransmitted window crossed that ACK and hit the closed port):
       * read what is queued first, so a finished transfer ends as 'sent', not 'closed'. */
      while (!r->done) {
        ssize_t m = recv(r->sock, pkt, sizeof pkt, MSG_DONTWAIT);
        if (m < 0) break;
        on_packet(r, pkt, (size_t)m);
      }
      finish(r, "closed", "client port unreachable");
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      finish(r, "closed", "transfer socket: %s", strerror(errno));
    }
    /* EAGAIN: SO_RCVTIMEO ran out; the next turn sees the deadline passed and retransmits. */
  }
}

static int open_socket(run *r) {
  transfer *t = r->t;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    finish(r, "source-error", "cannot open the transfer socket: %s", strerror(errno));
    return -1;
  }
  pthread_mutex_lock(&t->lock);
  t->sock = s;
  pthread_mutex_unlock(&t->lock);
  r->sock = s;
  /* The reply leaves from the address the client asked, from a new TID (RFC 1350 4); connect()
   * keeps datagrams from any other TID away from this transfer. */
  if (bind(s, (struct sockaddr *)&t->local, sizeof t->local) < 0 || connect(s, (struct sockaddr *)&t->peer, sizeof t->peer) < 0) {
    finish(r, "source-error", "cannot open the transfer socket: %s", strerror(errno));
    return -1;
  }
  return 0;
}

void transfer_run(transfer *t) {
  run *r = calloc(1, sizeof *r);
  if (!r) {
    t->result = "source-error";
    t->has_error = 1;
    snprintf(t->error, sizeof t->error, "out of memory");
    return;
  }
  r->t = t;
  r->sock = -1;
  r->last = t->size / t->blksize + 1;
  r->last_len = (uint32_t)(t->size % t->blksize);
  uint64_t window = (uint64_t)t->windowsize * t->blksize;
  uint64_t cap = CHUNK > 2 * window ? CHUNK : 2 * window;
  cap = (cap + t->blksize - 1) / t->blksize * t->blksize;
  if (cap > t->size) cap = t->size;
  r->cap = (size_t)cap;
  r->buf = malloc(cap > 0 ? cap : 1);
  reset_backoff(r);
  if (!r->buf) {
    finish(r, "source-error", "out of memory");
  } else if (open_socket(r) == 0 && !abort_reason(r)) {
    if (t->oack) {
      r->phase_oack = 1;
      send_one(r, t->oack, t->oack_len);
      arm(r);
    } else {
      send_window(r, 1);
    }
    loop(r);
  }
  /* The client is still listening when we give up on our side: tell it why (RFC 1350 7). */
  if (r->sock >= 0 && (strcmp(r->done, "source-error") == 0 || strcmp(r->done, "closed") == 0)) {
    uint8_t out[4 + sizeof t->error];
    size_t len = strlen(t->error);
    out[0] = 0, out[1] = OP_ERROR, out[2] = 0, out[3] = ERR_NOT_DEFINED;
    memcpy(out + 4, t->error, len + 1);
    send(r->sock, out, 5 + len, MSG_DONTWAIT);
  }
  int sent = strcmp(r->done, "sent") == 0;
  t->blocks = sent ? r->last : r->acked;
  t->bytes = sent ? t->size : r->acked * t->blksize;
  free(r->buf);
  free(r);
}
