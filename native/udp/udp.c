// rackboot-udp: UDP sockets for the DHCP server without Node's dgram per-datagram cost.
//
// Node's dgram allocates a 64 KiB buffer per datagram, builds an address string and an rinfo
// object, and enters JavaScript once per datagram; measured here, a DHCP responder with no
// logic at all tops out near Kea's rate on that path alone. This socket is polled by libuv
// (uv_poll_t) on the main loop, reads with recvmmsg into one reused buffer, and enters
// JavaScript once per batch; sends are one sendto each, with no request object.
// Everything stays on the main thread: there are no threads and no locks.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

#define BATCH 32 // datagrams per wake-up (see on_readable)
#define SLOT 2048 // a DHCP packet over Ethernet fits (576..1500 bytes); longer ones arrive truncated
#define META 4    // per datagram: length (negative when truncated), IPv4 address, port, µs queued
#define CONTROL CMSG_SPACE(sizeof(struct timespec))

typedef struct {
  uv_poll_t poll;
  int fd;
  int closed;
  int owners; // libuv's handle and the JS external: freed when both let go
  napi_env env;
  napi_ref callback;
  napi_ref self; // keeps the JS buffers alive while the socket is open
  napi_async_context context;
  uint8_t *data;
  int32_t *meta;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in from[BATCH];
  char control[BATCH][CONTROL];
} Sock;

// How long a datagram waited in the socket: the kernel stamps its arrival (SO_TIMESTAMPNS), so
// under overload the server can drop what its clients have given up on instead of answering it.
static int32_t queued_us(struct msghdr *h, const struct timespec *now) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    struct timespec at;
    memcpy(&at, CMSG_DATA(c), sizeof at);
    int64_t us = (int64_t)(now->tv_sec - at.tv_sec) * 1000000 + (now->tv_nsec - at.tv_nsec) / 1000;
    return us < 0 ? 0 : us > INT32_MAX ? INT32_MAX : (int32_t)us;
  }
  return 0;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, uv_err_name(-err), msg);
  return NULL;
}

// Reads one batch and hands it to JavaScript. One batch per wake-up, not a drain: libuv polls
// again at once while data is queued, and in between the loop runs the lease commit whose ACKs
// wait for it. Draining thousands first would send those ACKs in one burst, which overflows the
// receive buffer of a relay (or perfdhcp) on the other end.
static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  Sock *s = (Sock *)poll->data;
  if (status < 0 || s->closed) return;
  for (int i = 0; i < BATCH; i++) {
    s->iov[i].iov_base = s->data + (size_t)i * SLOT;
    s->iov[i].iov_len = SLOT;
    memset(&s->msgs[i].msg_hdr, 0, sizeof s->msgs[i].msg_hdr);
    s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
    s->msgs[i].msg_hdr.msg_name = &s->from[i];
    s->msgs[i].msg_hdr.msg_namelen = sizeof s->from[i];
    s->msgs[i].msg_hdr.msg_control = s->control[i];
    s->msgs[i].msg_hdr.msg_controllen = CONTROL;
  }
  int n = recvmmsg(s->fd, s->msgs, BATCH, MSG_DONTWAIT, NULL);
  if (n <= 0) return; // EAGAIN, or an error JavaScript cannot act on (the next poll retries)
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  for (int i = 0; i < n; i++) {
    int len = (int)s->msgs[i].msg_len;
    s->meta[i * META] = (s->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? -len : len;
    s->meta[i * META + 1] = (int32_t)ntohl(s->from[i].sin_addr.s_addr);
    s->meta[i * META + 2] = ntohs(s->from[i].sin_port);
    s->meta[i * META + 3] = queued_us(&s->msgs[i].msg_hdr, &now);
  }
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, argv[1], result;
  napi_get_reference_value(env, s->callback, &cb);
  napi_get_global(env, &recv);
  napi_create_int32(env, n, &argv[0]);
  // make_callback runs the microtasks and ticks queued by the handler, as dgram's would.
  napi_status st = napi_make_callback(env, s->context, recv, cb, 1, argv, &result);
  if (st == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static void on_closed(uv_handle_t *h) {
  Sock *s = (Sock *)h->data;
  close(s->fd);
  if (--s->owners == 0) free(s);
}

static void on_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Sock *s = (Sock *)data;
  if (--s->owners == 0) free(s);
}

static void release(Sock *s) {
  if (s->closed) return;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  napi_delete_reference(s->env, s->callback);
  napi_delete_reference(s->env, s->self);
  napi_async_destroy(s->env, s->context);
  uv_close((uv_handle_t *)&s->poll, on_closed);
}

static Sock *sock_of(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "not a rackboot-udp socket");
    return NULL;
  }
  return (Sock *)p;
}

// open(address: string, port: number, ifindex: number, broadcast: boolean, rcvbuf: number, onBatch)
//   → { handle, data: Buffer(BATCH*SLOT), meta: Int32Array(BATCH*META), port }
static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char address[64];
  size_t alen = 0;
  int32_t port = 0, ifindex = 0, rcvbuf = 0;
  bool broadcast = false;
  if (argc < 6 || napi_get_value_string_utf8(env, argv[0], address, sizeof address, &alen) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &ifindex) != napi_ok ||
      napi_get_value_bool(env, argv[3], &broadcast) != napi_ok || napi_get_value_int32(env, argv[4], &rcvbuf) != napi_ok) {
    napi_throw_type_error(env, NULL, "open(address, port, ifindex, broadcast, rcvbuf, onBatch)");
    return NULL;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) {
    napi_throw_type_error(env, "EINVAL", "not an IPv4 address");
    return NULL;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  // SO_REUSEADDR: one socket per interface shares port 67 (each bound to its device).
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      (broadcast && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0) ||
      setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0 ||
      (ifindex > 0 && setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex, sizeof ifindex) < 0)) {
    int e = errno;
    close(fd);
    return throw_errno(env, "setsockopt", e);
  }
  // A burst arriving during a commit queues here; FORCE needs CAP_NET_ADMIN, else rmem_max caps it.
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, "bind", e);
  }
  socklen_t sl = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &sl);

  Sock *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  s->fd = fd;
  s->env = env;
  s->owners = 2;
  napi_value out, data, metaBuf, meta, handle, portValue, name;
  void *dataPtr = NULL, *metaPtr = NULL;
  napi_create_object(env, &out);
  napi_create_buffer(env, (size_t)BATCH * SLOT, &dataPtr, &data);
  napi_create_arraybuffer(env, sizeof(int32_t) * BATCH * META, &metaPtr, &metaBuf);
  napi_create_typedarray(env, napi_int32_array, BATCH * META, metaBuf, 0, &meta);
  napi_create_external(env, s, on_finalize, NULL, &handle);
  napi_create_int32(env, ntohs(sa.sin_port), &portValue);
  s->data = dataPtr;
  s->meta = metaPtr;
  napi_set_named_property(env, out, "handle", handle);
  napi_set_named_property(env, out, "data", data);
  napi_set_named_property(env, out, "meta", meta);
  napi_set_named_property(env, out, "port", portValue);
  napi_create_reference(env, argv[5], 1, &s->callback);
  napi_create_reference(env, out, 1, &s->self);
  napi_create_string_utf8(env, "rackboot-udp", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &s->context);
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &s->poll, fd);
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  return out;
}

// send(handle, data: Buffer, address: uint32, port) → 0, or the errno of a failed send.
static napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Sock *s = argc == 4 ? sock_of(env, argv[0]) : NULL;
  if (!s) return NULL;
  void *buf = NULL;
  size_t len = 0;
  uint32_t addr = 0, port = 0;
  if (napi_get_buffer_info(env, argv[1], &buf, &len) != napi_ok || napi_get_value_uint32(env, argv[2], &addr) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &port) != napi_ok) {
    napi_throw_type_error(env, NULL, "send(handle, buffer, address, port)");
    return NULL;
  }
  int err = EBADF;
  if (!s->closed) {
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(addr)};
    ssize_t r;
    do r = sendto(s->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to);
    while (r < 0 && errno == EINTR);
    err = r < 0 ? errno : 0;
  }
  napi_create_int32(env, err, &result);
  return result;
}

// close(handle): stops polling; the descriptor closes once libuv lets go of it.
static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Sock *s = argc == 1 ? sock_of(env, argv[0]) : NULL;
  if (s) release(s);
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, Open, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, Send, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 3, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
