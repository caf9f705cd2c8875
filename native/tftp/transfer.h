/*
 * One TFTP read transfer of a file, shared between the N-API glue (tftp.c), the event loop that
 * drives every transfer (loop.c) and the per-transfer state machine (transfer.c).
 */
#ifndef RACKBOOT_TFTP_TRANSFER_H
#define RACKBOOT_TFTP_TRANSFER_H
#include <netinet/in.h>
#include <node_api.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Longest error text kept; a longer client ERROR message is cut there. */
#define ERROR_MAX 1100

typedef struct transfer transfer;

/* Ownership: one reference for the JS handle (dropped by its finalizer), one for the loop (handed
 * to the completion callback, which drops it) and one per pending request in the loop's queue;
 * the last one frees the struct (transfer_unref). */
struct transfer {
  /* Parameters, read-only once submitted. */
  int fd;
  uint64_t size;
  struct sockaddr_in local, peer;
  uint32_t blksize, windowsize, timeout_ms, max_timeout_ms, retries;
  uint8_t *oack;
  size_t oack_len;
  uint64_t started_ns;
  napi_threadsafe_function tsfn;
  atomic_int refs;

  /* Requests from JS, under the loop's lock (loop.c). */
  int queued, aborted, finished;
  char reason[256];
  transfer *next_queued;

  /* State of the data loop, touched by the loop thread only. */
  int sock;
  int started, completed, phase_oack, blocked;
  uint8_t *buf;
  size_t cap;
  uint64_t buf_start, buf_end;       /* file bytes held in buf */
  uint64_t acked, sent, last;        /* block indexes from 1, never wrapped */
  uint64_t next_send, send_until;    /* blocks of the current burst not yet handed to the kernel */
  uint32_t last_len;
  uint32_t cur_timeout_ms, retries_left;
  uint64_t deadline_ns;              /* retransmit timer */
  const char *done;                  /* outcome once decided */
  /* Bookkeeping of the loop (timer heap, runnable list, epoll interest, completions). */
  size_t heap_index;
  uint32_t events;
  int on_run;
  transfer *run_prev, *run_next, *next_done;

  /* Outcome, complete before the struct goes to the completion callback. */
  const char *result;
  uint64_t bytes, blocks, retransmits, ms;
  char error[ERROR_MAX];
  int has_error;
};

/* Monotonic time in nanoseconds. */
uint64_t transfer_now_ns(void);
/* Drops one reference; the last frees the struct. */
void transfer_unref(transfer *t);

/* The state machine (transfer.c), called on the loop thread only. Each call may send, move the
 * deadline, set `blocked` (the socket's send buffer is full: wait until it is writable), leave a
 * burst pending (next_send <= send_until: call transfer_pump again) or decide `done`. */

/* Allocates the read buffer and opens the transfer socket (non-blocking, bound to `local`,
 * connected to `peer`). Returns 0, or -1 with the transfer done. */
int transfer_open(transfer *t);
/* Sends the OACK or the first window and arms the timer. */
void transfer_begin(transfer *t);
/* Reads one datagram from the socket and acts on it. */
void transfer_on_readable(transfer *t);
/* The socket can send again: continues the pending burst. */
void transfer_on_writable(transfer *t);
/* The deadline has passed: retransmits with backoff, or gives up with 'timeout'. */
void transfer_on_timer(transfer *t);
/* Sends the next batch of the pending burst (at most a fixed number of datagrams per call). */
void transfer_pump(transfer *t);
/* Ends the transfer with `result` and message (no-op once done). */
void transfer_fail(transfer *t, const char *result, const char *message);
/* After `done`: tells the client why if we gave up, fills bytes/blocks, closes the socket. */
void transfer_end(transfer *t);

/* The event loop (loop.c): one thread for every transfer of the process. */

/* Starts the loop thread once; returns 0 or an errno value (then no transfer can run). */
int loop_start(void);
/* Hands a new transfer to the loop, which holds the loop reference from then on. */
void loop_submit(transfer *t);
/* Asks the loop to end t with 'closed' and `reason`; a no-op once t has finished. Safe from the
 * JS thread at any time while the caller holds a reference. */
void loop_abort(transfer *t, const char *reason);

#endif
