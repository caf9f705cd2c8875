/*
 * One TFTP read transfer of a file, shared between the N-API glue (tftp.c) and the data loop
 * (transfer.c) that runs it on a thread of its own.
 */
#ifndef RACKBOOT_TFTP_TRANSFER_H
#define RACKBOOT_TFTP_TRANSFER_H
#include <netinet/in.h>
#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Longest error text kept; a longer client ERROR message is cut there. */
#define ERROR_MAX 1100

/* Ownership: two references, the JS handle (dropped by its finalizer) and the thread (handed to
 * the completion callback, which drops it); the last one frees it (transfer_unref). */
typedef struct {
  /* Parameters, read-only once the thread runs. */
  int fd;
  uint64_t size;
  struct sockaddr_in local, peer;
  uint32_t blksize, windowsize, timeout_ms, max_timeout_ms, retries;
  uint8_t *oack;
  size_t oack_len;
  uint64_t started_ns;
  napi_threadsafe_function tsfn;
  /* Shared with abort(): sock and reason under lock. */
  atomic_int refs;
  atomic_int aborted;
  pthread_mutex_t lock;
  int sock;
  char reason[256];
  /* Outcome, written by the thread before it hands the struct to the completion callback. */
  const char *result;
  uint64_t bytes, blocks, retransmits, ms;
  char error[ERROR_MAX];
  int has_error;
} transfer;

/* Monotonic time in nanoseconds. */
uint64_t transfer_now_ns(void);
/* Drops one reference; the last frees the struct. */
void transfer_unref(transfer *t);
/* Runs the transfer to its end on the calling thread: fills result, bytes, blocks, error. The
 * socket it opens stays in t->sock (closed by the caller, under t->lock). */
void transfer_run(transfer *t);

#endif
