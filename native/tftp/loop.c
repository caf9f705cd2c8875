/*
 * One event-loop thread for every TFTP transfer of the process: epoll over the transfer
 * sockets, a min-heap of retransmit deadlines and a FIFO of transfers with a burst still to
 * send. A boot storm of 1,000 transfers costs one thread, not 1,000 threads competing with
 * Node's event loop for the core.
 *
 * Fairness: epoll is level-triggered and each ready socket gets one datagram read per turn
 * (epoll puts a still-ready socket behind the others), and a burst goes out at most BATCH
 * datagrams per turn (transfer_pump), the rest after every other runnable transfer had its turn.
 *
 * JS talks to the loop through a queue under `lock` (new transfers, aborts) and an eventfd that
 * wakes it. A finished transfer goes to JS through its threadsafe function at the end of the
 * turn, after every event of that turn was handled, so no event of the turn refers to freed
 * memory; from then on (`finished`, under the lock) abort() is a no-op.
 */
#define _GNU_SOURCE
#include "transfer.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Ready sockets taken per epoll_wait. */
#define EVENTS 64
#define HEAP_NONE ((size_t)-1)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static transfer *queue_head, *queue_tail; /* under lock */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int start_error, epfd = -1, wakefd = -1;

/* Loop thread only. */
static transfer **heap;
static size_t heap_len, heap_cap;
static transfer *run_head, *run_tail, *done_head;

/* Timer heap, keyed by deadline_ns. */

static void heap_put(size_t i, transfer *t) {
  heap[i] = t;
  t->heap_index = i;
}

static void heap_fix(size_t i) {
  transfer *t = heap[i];
  while (i > 0 && heap[(i - 1) / 2]->deadline_ns > t->deadline_ns) {
    heap_put(i, heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= heap_len) break;
    if (c + 1 < heap_len && heap[c + 1]->deadline_ns < heap[c]->deadline_ns) c++;
    if (heap[c]->deadline_ns >= t->deadline_ns) break;
    heap_put(i, heap[c]);
    i = c;
  }
  heap_put(i, t);
}

static int heap_reserve(void) {
  if (heap_len < heap_cap) return 0;
  size_t cap = heap_cap ? heap_cap * 2 : 256;
  transfer **h = realloc(heap, cap * sizeof *h);
  if (!h) return -1;
  heap = h;
  heap_cap = cap;
  return 0;
}

static void heap_remove(transfer *t) {
  size_t i = t->heap_index;
  if (i == HEAP_NONE) return;
  t->heap_index = HEAP_NONE;
  transfer *moved = heap[--heap_len];
  if (moved == t) return;
  heap_put(i, moved);
  heap_fix(i);
}

/* Runnable FIFO: transfers with a burst left to send and a writable socket. */

static void run_push(transfer *t) {
  t->on_run = 1;
  t->run_next = NULL;
  t->run_prev = run_tail;
  if (run_tail) run_tail->run_next = t;
  else run_head = t;
  run_tail = t;
}

static void run_remove(transfer *t) {
  if (!t->on_run) return;
  t->on_run = 0;
  if (t->run_prev) t->run_prev->run_next = t->run_next;
  else run_head = t->run_next;
  if (t->run_next) t->run_next->run_prev = t->run_prev;
  else run_tail = t->run_prev;
  t->run_prev = t->run_next = NULL;
}

/* Takes a decided transfer out of the loop; JS hears of it at the end of the turn. */
static void complete(transfer *t) {
  if (t->sock >= 0) epoll_ctl(epfd, EPOLL_CTL_DEL, t->sock, NULL);
  transfer_end(t);
  heap_remove(t);
  run_remove(t);
  t->ms = (transfer_now_ns() - t->started_ns + 500000) / 1000000;
  t->next_done = done_head;
  done_head = t;
}

/* Brings the loop's view of t (timer, epoll interest, runnable) in line after a state change. */
static void reconcile(transfer *t) {
  if (t->done) {
    if (!t->completed) {
      t->completed = 1;
      complete(t);
    }
    return;
  }
  if (t->heap_index != HEAP_NONE) heap_fix(t->heap_index);
  uint32_t want = EPOLLIN | (t->blocked ? EPOLLOUT : 0);
  if (want != t->events) {
    struct epoll_event ev = {.events = want, .data.ptr = t};
    epoll_ctl(epfd, EPOLL_CTL_MOD, t->sock, &ev);
    t->events = want;
  }
  int pending = !t->blocked && t->next_send <= t->send_until;
  if (pending && !t->on_run) run_push(t);
  else if (!pending && t->on_run) run_remove(t);
}

/* Opens and starts a submitted transfer (or ends it at once when it was aborted meanwhile). */
static void start(transfer *t, int aborted) {
  t->started = 1;
  if (transfer_open(t) < 0) return;
  if (aborted) {
    transfer_fail(t, "closed", t->reason);
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = t};
  if (heap_reserve() < 0) {
    transfer_fail(t, "source-error", "out of memory");
    return;
  }
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, t->sock, &ev) < 0) {
    char message[128];
    snprintf(message, sizeof message, "cannot watch the transfer socket: %s", strerror(errno));
    transfer_fail(t, "source-error", message);
    return;
  }
  t->events = EPOLLIN;
  transfer_begin(t);
  if (!t->done) {
    heap_put(heap_len++, t);
    heap_fix(t->heap_index);
  }
}

/* Handles what JS queued: new transfers and aborts. Each entry holds a reference. */
static void take_requests(void) {
  uint64_t n;
  /* Resets the counter; a failed read (EAGAIN: a spurious wake-up) changes nothing below. */
  if (read(wakefd, &n, sizeof n) < 0) n = 0;
  pthread_mutex_lock(&lock);
  transfer *t = queue_head;
  queue_head = queue_tail = NULL;
  pthread_mutex_unlock(&lock);
  while (t) {
    pthread_mutex_lock(&lock);
    transfer *next = t->next_queued;
    int aborted = t->aborted;
    t->queued = 0;
    t->next_queued = NULL;
    pthread_mutex_unlock(&lock);
    /* reason is written once, before aborted is set, and never again. */
    if (!t->done) {
      if (!t->started) start(t, aborted);
      else if (aborted) transfer_fail(t, "closed", t->reason);
      reconcile(t);
    }
    transfer_unref(t);
    t = next;
  }
}

/* Gives every transfer that was runnable at the start of the pass one more batch. */
static void run_pass(void) {
  transfer *t = run_head;
  run_head = run_tail = NULL;
  while (t) {
    transfer *next = t->run_next;
    t->on_run = 0;
    t->run_prev = t->run_next = NULL;
    transfer_pump(t);
    reconcile(t);
    t = next;
  }
}

static void fire_timers(void) {
  uint64_t now = transfer_now_ns();
  /* Each firing moves the deadline past now or ends the transfer, so this terminates. */
  while (heap_len > 0 && heap[0]->deadline_ns <= now) {
    transfer *t = heap[0];
    transfer_on_timer(t);
    reconcile(t);
  }
}

/* Hands finished transfers to JS; the completion callback owns the loop's reference. */
static void flush_done(void) {
  while (done_head) {
    transfer *t = done_head;
    done_head = t->next_done;
    pthread_mutex_lock(&lock);
    t->finished = 1;
    pthread_mutex_unlock(&lock);
    napi_threadsafe_function tsfn = t->tsfn;
    if (napi_call_threadsafe_function(tsfn, t, napi_tsfn_blocking) != napi_ok) transfer_unref(t);
    napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  }
}

static int wait_ms(void) {
  if (run_head) return 0;
  if (heap_len == 0) return -1;
  uint64_t now = transfer_now_ns(), at = heap[0]->deadline_ns;
  if (at <= now) return 0;
  uint64_t ms = (at - now + 999999) / 1000000;
  return ms > INT_MAX ? INT_MAX : (int)ms;
}

static void *loop_main(void *arg) {
  (void)arg;
  struct epoll_event ev[EVENTS];
  for (;;) {
    int n = epoll_wait(epfd, ev, EVENTS, wait_ms());
    for (int i = 0; i < n; i++) {
      transfer *t = ev[i].data.ptr;
      if (!t) {
        take_requests();
        continue;
      }
      if (t->done) continue;
      if ((ev[i].events & EPOLLOUT) && t->blocked) transfer_on_writable(t);
      if (ev[i].events & (EPOLLIN | EPOLLERR)) transfer_on_readable(t);
      reconcile(t);
    }
    run_pass();
    fire_timers();
    flush_done();
  }
  return NULL;
}

static void start_loop(void) {
  epfd = epoll_create1(EPOLL_CLOEXEC);
  wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epfd < 0 || wakefd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) < 0) {
    start_error = errno;
    return;
  }
  /* The thread takes no signals: Node's handlers run on its own threads. */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  start_error = pthread_create(&thread, &attr, loop_main, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
}

int loop_start(void) {
  pthread_once(&once, start_loop);
  return start_error;
}

/* Queues t for the loop with a reference of its own; the caller holds `lock`. */
static void enqueue_locked(transfer *t) {
  if (t->queued) return;
  t->queued = 1;
  atomic_fetch_add(&t->refs, 1);
  int was_empty = queue_head == NULL;
  if (queue_tail) queue_tail->next_queued = t;
  else queue_head = t;
  queue_tail = t;
  /* The loop reads the eventfd before it takes the queue, so one wake-up per empty queue does. */
  if (was_empty) {
    uint64_t one = 1;
    if (write(wakefd, &one, sizeof one) < 0) {
      /* EAGAIN only: the counter is already non-zero, the loop will wake. */
    }
  }
}

void loop_submit(transfer *t) {
  t->heap_index = HEAP_NONE;
  t->sock = -1;
  pthread_mutex_lock(&lock);
  enqueue_locked(t);
  pthread_mutex_unlock(&lock);
}

void loop_abort(transfer *t, const char *reason) {
  pthread_mutex_lock(&lock);
  if (!t->finished && !t->aborted) {
    snprintf(t->reason, sizeof t->reason, "%s", reason);
    t->aborted = 1;
    enqueue_locked(t);
  }
  pthread_mutex_unlock(&lock);
}
