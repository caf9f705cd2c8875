/*
 * The state machine of a TFTP read transfer of a file (RFC 1350, RFC 2347 OACK, RFC 7440
 * windows), driven by the event loop (loop.c) on a non-blocking socket. Per lock-step block: one
 * sendmsg (header and file bytes as two iovecs, no copy) and one recv; the file is read with
 * pread in chunks of CHUNK bytes, a window burst goes out with sendmmsg, BATCH datagrams per
 * call, so one transfer never holds the loop for more than one batch.
 *
 * The rules are those of src/tftp/transfer.ts: only the timer retransmits (a duplicate or late
 * ACK never does, so no Sorcerer's Apprentice, RFC 1123 4.2.3.1); block numbers roll over
 * 65535 -> 0 on the wire; the timeout doubles per retry up to maxTimeoutMs and resets on
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
/* Datagrams per sendmmsg call: the most one transfer sends per turn of the loop. */
#define BATCH 64
/* File bytes read per pread, rounded to whole blocks; at least two windows. Kept small because
 * every transfer in flight holds one such buffer (1,000 in a boot storm). */
#define CHUNK (64 * 1024)

/* Scratch for building a batch; only the loop thread sends. */
static _Thread_local uint8_t hdr[BATCH][4];
static _Thread_local struct iovec iov[BATCH][2];
static _Thread_local struct mmsghdr msgs[BATCH];

uint64_t transfer_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void transfer_unref(transfer *t) {
  if (atomic_fetch_sub(&t->refs, 1) != 1) return;
  free(t->buf);
  free(t->oack);
  free(t);
}

static void finish(transfer *t, const char *result, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void finish(transfer *t, const char *result, const char *fmt, ...) {
  if (t->done) return;
  t->done = result;
  t->result = result;
  t->has_error = fmt != NULL;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->error, sizeof t->error, fmt, ap);
    va_end(ap);
  }
}

void transfer_fail(transfer *t, const char *result, const char *message) {
  finish(t, result, "%s", message);
}

/* Sends one datagram; an ICMP port unreachable reported here ends the transfer like on recv. */
static void send_one(transfer *t, const void *p, size_t n) {
  while (send(t->sock, p, n, MSG_DONTWAIT) < 0) {
    if (errno == EINTR) continue;
    if (errno == ECONNREFUSED) finish(t, "closed", "client port unreachable");
    /* Anything else (EAGAIN, ENOBUFS, ...) is a lost datagram: the timer resends it. */
    return;
  }
}

static void arm(transfer *t) {
  t->deadline_ns = transfer_now_ns() + (uint64_t)t->cur_timeout_ms * 1000000u;
}

/* Makes buf hold file bytes [from, to): reads from the first unacknowledged block on, keeping
 * what is already loaded. Returns 0, or -1 with the transfer finished as 'source-error'. */
static int fill(transfer *t, uint64_t from, uint64_t to) {
  if (from >= t->buf_start && to <= t->buf_end) return 0;
  uint64_t start = t->acked * t->blksize;
  uint64_t end = start + t->cap < t->size ? start + t->cap : t->size;
  size_t keep = 0;
  if (t->buf_start <= start && start < t->buf_end) {
    keep = (size_t)(t->buf_end - start);
    memmove(t->buf, t->buf + (start - t->buf_start), keep);
  }
  uint64_t at = start + keep;
  while (at < end) {
    ssize_t n = pread(t->fd, t->buf + (at - start), (size_t)(end - at), (off_t)at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      finish(t, "source-error", "cannot read the file: %s", strerror(errno));
      return -1;
    }
    if (n == 0) {
      finish(t, "source-error", "file ends at byte %llu, before its size %llu (truncated while sending?)", (unsigned long long)at,
             (unsigned long long)t->size);
      return -1;
    }
    at += (uint64_t)n;
  }
  t->buf_start = start;
  t->buf_end = end;
  if (to <= end) return 0;
  finish(t, "source-error", "window of %llu bytes does not fit the read buffer", (unsigned long long)(to - from));
  return -1;
}

void transfer_pump(transfer *t) {
  if (t->done || t->blocked || t->next_send > t->send_until) return;
  unsigned n = 0;
  for (; n < BATCH && t->next_send + n <= t->send_until; n++) {
    uint64_t block = t->next_send + n;
    uint64_t off = (block - 1) * t->blksize;
    size_t len = block == t->last ? t->last_len : t->blksize;
    hdr[n][0] = 0;
    hdr[n][1] = OP_DATA;
    hdr[n][2] = (uint8_t)(block >> 8);
    hdr[n][3] = (uint8_t)block;
    iov[n][0] = (struct iovec){hdr[n], 4};
    iov[n][1] = (struct iovec){t->buf + (off - t->buf_start), len};
    msgs[n].msg_hdr = (struct msghdr){.msg_iov = iov[n], .msg_iovlen = 2};
  }
  int sent;
  do {
    sent = n == 1 ? (sendmsg(t->sock, &msgs[0].msg_hdr, MSG_DONTWAIT) < 0 ? -1 : 1) : sendmmsg(t->sock, msgs, n, MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      /* The send buffer is full: the loop waits for EPOLLOUT, the timer still runs. */
      t->blocked = 1;
      return;
    }
    if (errno == ECONNREFUSED) {
      finish(t, "closed", "client port unreachable");
      return;
    }
    /* Other failures (ENOBUFS, ...) lose this batch: the timer resends. */
    sent = (int)n;
  }
  t->next_send += (uint64_t)sent;
}

/* Starts a burst from `from` to the end of the window after the last ACK (RFC 7440), arms the
 * timer and sends the first batch of it. */
static void send_window(transfer *t, uint64_t from) {
  uint64_t until = t->acked + t->windowsize < t->last ? t->acked + t->windowsize : t->last;
  if (from <= until) {
    uint64_t to = until * t->blksize < t->size ? until * t->blksize : t->size;
    if (fill(t, (from - 1) * t->blksize, to) < 0) return;
  }
  t->next_send = from;
  t->send_until = until;
  if (until > t->sent) t->sent = until;
  arm(t);
  transfer_pump(t);
}

static void reset_backoff(transfer *t) {
  t->cur_timeout_ms = t->timeout_ms;
  t->retries_left = t->retries;
}

static void on_ack(transfer *t, uint16_t wire) {
  if (t->phase_oack) {
    if (wire != 0) return;
    t->phase_oack = 0;
    reset_backoff(t);
    send_window(t, 1);
    return;
  }
  /* Map the 16-bit number onto the blocks in flight; anything else is a duplicate or stale. */
  uint64_t delta = (uint16_t)(wire - (uint16_t)t->acked);
  if (delta == 0 || t->acked + delta > t->sent) return;
  t->acked += delta;
  reset_backoff(t);
  if (t->acked >= t->last) {
    finish(t, "sent", NULL);
    return;
  }
  /* A mid-window ACK means the client missed a block: resend from the one after it (RFC 7440 4). */
  send_window(t, t->acked + 1);
}

static void on_packet(transfer *t, const uint8_t *p, size_t n) {
  if (n < 4 || p[0] != 0) return;
  if (p[1] == OP_ACK) {
    on_ack(t, (uint16_t)(p[2] << 8 | p[3]));
  } else if (p[1] == OP_ERROR) {
    unsigned code = (unsigned)(p[2] << 8 | p[3]);
    size_t len = strnlen((const char *)p + 4, n - 4);
    const char *result = t->phase_oack && code == ERR_OPTION_REFUSED ? "options-declined" : "client-error";
    finish(t, result, "client error %u: %.*s", code, (int)len, (const char *)p + 4);
  }
  /* Anything else on a read transfer (DATA, requests) is ignored, not fatal. */
}

void transfer_on_timer(transfer *t) {
  if (t->done) return;
  if (t->retries_left == 0) {
    finish(t, "timeout", "no ACK after %u retransmissions", t->retries);
    return;
  }
  t->retries_left--;
  t->retransmits++;
  t->cur_timeout_ms = t->cur_timeout_ms * 2 < t->max_timeout_ms ? t->cur_timeout_ms * 2 : t->max_timeout_ms;
  if (t->phase_oack) {
    send_one(t, t->oack, t->oack_len);
    arm(t);
  } else {
    send_window(t, t->acked + 1);
  }
}

void transfer_on_readable(transfer *t) {
  uint8_t pkt[1024];
  if (t->done) return;
  ssize_t n = recv(t->sock, pkt, sizeof pkt, MSG_DONTWAIT);
  if (n >= 0) {
    on_packet(t, pkt, (size_t)n);
  } else if (errno == ECONNREFUSED) {
    /* ICMP port unreachable: the client has gone away; stop instead of retrying for seconds.
     * Linux reports the pending error before datagrams already queued, so the client's final
     * ACK may sit behind it (a retransmitted window crossed that ACK and hit the closed port):
     * read what is queued first, so a finished transfer ends as 'sent', not 'closed'. */
    while (!t->done) {
      ssize_t m = recv(t->sock, pkt, sizeof pkt, MSG_DONTWAIT);
      if (m < 0) break;
      on_packet(t, pkt, (size_t)m);
    }
    finish(t, "closed", "client port unreachable");
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    finish(t, "closed", "transfer socket: %s", strerror(errno));
  }
}

void transfer_on_writable(transfer *t) {
  t->blocked = 0;
  transfer_pump(t);
}

int transfer_open(transfer *t) {
  t->last = t->size / t->blksize + 1;
  t->last_len = (uint32_t)(t->size % t->blksize);
  uint64_t window = (uint64_t)t->windowsize * t->blksize;
  uint64_t cap = CHUNK > 2 * window ? CHUNK : 2 * window;
  cap = (cap + t->blksize - 1) / t->blksize * t->blksize;
  if (cap > t->size) cap = t->size;
  t->cap = (size_t)cap;
  /* No burst pending until the first window (next_send > send_until). */
  t->next_send = 1;
  t->send_until = 0;
  reset_backoff(t);
  t->buf = malloc(cap > 0 ? cap : 1);
  if (!t->buf) {
    finish(t, "source-error", "out of memory");
    return -1;
  }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) {
    finish(t, "source-error", "cannot open the transfer socket: %s", strerror(errno));
    return -1;
  }
  t->sock = s;
  /* The reply leaves from the address the client asked, from a new TID (RFC 1350 4); connect()
   * keeps datagrams from any other TID away from this transfer. */
  if (bind(s, (struct sockaddr *)&t->local, sizeof t->local) < 0 || connect(s, (struct sockaddr *)&t->peer, sizeof t->peer) < 0) {
    finish(t, "source-error", "cannot open the transfer socket: %s", strerror(errno));
    return -1;
  }
  return 0;
}

void transfer_begin(transfer *t) {
  if (t->oack) {
    t->phase_oack = 1;
    send_one(t, t->oack, t->oack_len);
    arm(t);
  } else {
    send_window(t, 1);
  }
}

void transfer_end(transfer *t) {
  /* The client is still listening when we give up on our side: tell it why (RFC 1350 7). */
  if (t->sock >= 0 && (strcmp(t->done, "source-error") == 0 || strcmp(t->done, "closed") == 0)) {
    uint8_t out[4 + sizeof t->error];
    size_t len = strlen(t->error);
    out[0] = 0, out[1] = OP_ERROR, out[2] = 0, out[3] = ERR_NOT_DEFINED;
    memcpy(out + 4, t->error, len + 1);
    send(t->sock, out, 5 + len, MSG_DONTWAIT);
  }
  int sent = strcmp(t->done, "sent") == 0;
  t->blocks = sent ? t->last : t->acked;
  t->bytes = sent ? t->size : t->acked * t->blksize;
  if (t->sock >= 0) close(t->sock);
  t->sock = -1;
  free(t->buf);
  t->buf = NULL;
}
