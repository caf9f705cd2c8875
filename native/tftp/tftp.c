/*
 * rackboot-tftp: the data path of TFTP file transfers. JavaScript negotiates options, opens the
 * file and keeps ownership of its descriptor; one event-loop thread (loop.c) moves the blocks of
 * every transfer (transfer.c). Node's UDP receive path costs ~19 us of user time per datagram,
 * tftpd-hpa's whole loop ~1 us; lock-step (window 1) is bound by that per-packet cost.
 *
 *   sendFile(opts, done) -> { abort(reason?) }
 *     opts: { fd, size, localAddress, peerAddress, peerPort, blksize, windowsize, timeoutMs,
 *             maxTimeoutMs, retries, oack?: Buffer }
 *     done({ result, bytes, blocks, retransmits, ms, error? }) is called once on the JS thread;
 *     the fd must stay open until then.
 *
 * One thread for all transfers, not one each and not napi async work: a thread per transfer let
 * a boot storm's 1,000 transfers starve Node's event loop on the core they share, and libuv's
 * pool has only 4 threads shared with file system calls. Completion goes through a threadsafe
 * function per transfer, called once and released, which keeps Node's loop alive meanwhile.
 *
 * abort() runs only through a live handle, so the struct is alive; it only queues a request for
 * the loop thread, which owns the socket, so it never touches a closed (or reused) fd.
 */
#include "transfer.h"
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void set_number(napi_env env, napi_value obj, const char *name, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, obj, name, x);
}

/* Runs on the JS thread: hands the result to done() and drops the loop's reference. */
static void call_done(napi_env env, napi_value done, void *context, void *data) {
  (void)context;
  transfer *t = data;
  if (env && done) {
    napi_value r, s, undefined;
    napi_create_object(env, &r);
    napi_create_string_utf8(env, t->result, NAPI_AUTO_LENGTH, &s);
    napi_set_named_property(env, r, "result", s);
    set_number(env, r, "bytes", (double)t->bytes);
    set_number(env, r, "blocks", (double)t->blocks);
    set_number(env, r, "retransmits", (double)t->retransmits);
    set_number(env, r, "ms", (double)t->ms);
    if (t->has_error) {
      /* Client error text is arbitrary bytes: latin1 loses none, as in packet.ts. */
      napi_create_string_latin1(env, t->error, NAPI_AUTO_LENGTH, &s);
      napi_set_named_property(env, r, "error", s);
    }
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, done, 1, &r, NULL);
  }
  transfer_unref(t);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  transfer_unref(data);
}

static napi_value js_abort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  transfer *t;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok || napi_unwrap(env, self, (void **)&t) != napi_ok) return NULL;
  char reason[sizeof t->reason] = "aborted";
  size_t len;
  if (argc >= 1) napi_get_value_string_latin1(env, argv[0], reason, sizeof reason, &len);
  loop_abort(t, reason);
  return NULL;
}

static int get_u32(napi_env env, napi_value obj, const char *name, uint32_t min, uint32_t max, uint32_t *out) {
  napi_value v;
  double d;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_get_value_double(env, v, &d) != napi_ok) return -1;
  if (!(d >= min && d <= max) || d != (double)(uint32_t)d) return -1;
  *out = (uint32_t)d;
  return 0;
}

static int get_addr(napi_env env, napi_value obj, const char *name, struct sockaddr_in *sa) {
  napi_value v;
  char text[64];
  size_t len;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_get_value_string_utf8(env, v, text, sizeof text, &len) != napi_ok)
    return -1;
  sa->sin_family = AF_INET;
  return inet_pton(AF_INET, text, &sa->sin_addr) == 1 ? 0 : -1;
}

static napi_value fail(napi_env env, transfer *t, const char *message) {
  if (t) transfer_unref(t), transfer_unref(t);
  napi_throw_type_error(env, "EINVAL", message);
  return NULL;
}

static napi_value js_send_file(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], v;
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 || napi_typeof(env, argv[1], &type) != napi_ok ||
      type != napi_function)
    return fail(env, NULL, "sendFile(opts, done)");
  transfer *t = calloc(1, sizeof *t);
  if (!t) return fail(env, NULL, "out of memory");
  atomic_init(&t->refs, 2);
  t->sock = -1;
  t->started_ns = transfer_now_ns();
  napi_value o = argv[0];
  uint32_t fd, port;
  double size;
  if (get_u32(env, o, "fd", 0, INT32_MAX, &fd) || get_u32(env, o, "peerPort", 1, 65535, &port) ||
      get_u32(env, o, "blksize", 8, 65464, &t->blksize) || get_u32(env, o, "windowsize", 1, 65535, &t->windowsize) ||
      get_u32(env, o, "timeoutMs", 1, 3600000, &t->timeout_ms) || get_u32(env, o, "maxTimeoutMs", 1, 3600000, &t->max_timeout_ms) ||
      get_u32(env, o, "retries", 0, 1000, &t->retries) || get_addr(env, o, "localAddress", &t->local) ||
      get_addr(env, o, "peerAddress", &t->peer) || napi_get_named_property(env, o, "size", &v) != napi_ok ||
      napi_get_value_double(env, v, &size) != napi_ok || !(size >= 0 && size <= 9007199254740991.0) || size != (double)(uint64_t)size)
    return fail(env, t, "sendFile: bad options");
  t->fd = (int)fd;
  t->size = (uint64_t)size;
  t->peer.sin_port = htons((uint16_t)port);
  if (t->max_timeout_ms < t->timeout_ms) t->max_timeout_ms = t->timeout_ms;
  bool has_oack = false;
  if (napi_has_named_property(env, o, "oack", &has_oack) == napi_ok && has_oack) {
    void *data;
    size_t len;
    napi_get_named_property(env, o, "oack", &v);
    napi_typeof(env, v, &type);
    if (type != napi_undefined) {
      if (napi_get_buffer_info(env, v, &data, &len) != napi_ok || len == 0) return fail(env, t, "sendFile: oack must be a Buffer");
      t->oack = malloc(len);
      if (!t->oack) return fail(env, t, "out of memory");
      memcpy(t->oack, data, len);
      t->oack_len = len;
    }
  }
  napi_value name, handle, fn;
  napi_create_string_utf8(env, "rackboot-tftp", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, call_done, &t->tsfn) != napi_ok)
    return fail(env, t, "cannot create the completion callback");
  int err = loop_start();
  if (err != 0) {
    napi_release_threadsafe_function(t->tsfn, napi_tsfn_abort);
    transfer_unref(t), transfer_unref(t);
    napi_throw_error(env, "ETHREAD", strerror(err));
    return NULL;
  }
  loop_submit(t);
  napi_create_object(env, &handle);
  napi_create_function(env, "abort", NAPI_AUTO_LENGTH, js_abort, NULL, &fn);
  napi_set_named_property(env, handle, "abort", fn);
  if (napi_wrap(env, handle, t, finalize_handle, NULL, NULL) != napi_ok) transfer_unref(t);
  return handle;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "sendFile", NAPI_AUTO_LENGTH, js_send_file, NULL, &fn);
  napi_set_named_property(env, exports, "sendFile", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
