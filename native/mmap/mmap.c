/*
 * Read-only mappings of asset files, so rackboot can write asset bytes to sockets straight from
 * the page cache: one kernel copy (page cache -> socket) instead of read() into a buffer plus
 * write() from it. nginx gets the same effect with sendfile().
 *
 *   mapFile(fd, length) -> Buffer over the whole file (MAP_SHARED, PROT_READ); unmapped when the
 *                          Buffer is garbage-collected. rackboot maps an asset once and reuses the
 *                          mapping for every download: its page tables stay filled, so later
 *                          writes take no page faults.
 *   resident(buffer, offset, length) -> true when every page of that range is in the page cache
 *                          (mincore). Only such ranges are written from the mapping, so a socket
 *                          write never waits for the disk on the event loop; other ranges are read
 *                          through the thread pool, which also brings them into the cache.
 *
 * JavaScript never reads the mapping: it is only handed to write(), so a page past the end of a
 * file truncated under us makes that write fail with EFAULT in the kernel instead of raising
 * SIGBUS in the process.
 */
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

static napi_value fail(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

static napi_value map_file(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  int64_t length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[1], &length) != napi_ok || fd < 0 || length <= 0)
    return fail(env, "EINVAL", "mapFile(fd, length > 0)");
  void *p = mmap(NULL, (size_t)length, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return fail(env, "EMMAP", strerror(errno));
  napi_value result;
  if (napi_create_external_buffer(env, (size_t)length, p, unmap, (void *)(uintptr_t)length, &result) != napi_ok) {
    munmap(p, (size_t)length);
    return fail(env, "EMMAP", "cannot wrap the mapping in a Buffer");
  }
  return result;
}

static napi_value resident(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void *data;
  size_t size;
  int64_t offset, length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
      napi_get_buffer_info(env, argv[0], &data, &size) != napi_ok || napi_get_value_int64(env, argv[1], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[2], &length) != napi_ok || offset < 0 || length <= 0 || (uint64_t)(offset + length) > size)
    return fail(env, "EINVAL", "resident(buffer, offset, length) inside the buffer");
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t from = ((uintptr_t)data + (uintptr_t)offset) & ~(page - 1);
  uintptr_t to = (uintptr_t)data + (uintptr_t)offset + (uintptr_t)length;
  size_t pages = (to - from + page - 1) / page;
  unsigned char *vec = malloc(pages);
  int all = vec != NULL && mincore((void *)from, to - from, vec) == 0;
  for (size_t i = 0; all && i < pages; i++) all = vec[i] & 1;
  free(vec);
  napi_value result;
  napi_get_boolean(env, all, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "mapFile", NAPI_AUTO_LENGTH, map_file, NULL, &fn);
  napi_set_named_property(env, exports, "mapFile", fn);
  napi_create_function(env, "resident", NAPI_AUTO_LENGTH, resident, NULL, &fn);
  napi_set_named_property(env, exports, "resident", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
