// glibc's malloc knobs the exporter sets from inside the process (src/native-malloc.ts says why):
//   holdBigBlocksApart() -> mallopt(M_MMAP_THRESHOLD, 128 KiB), mallopt(M_TRIM_THRESHOLD, 4 MiB):
//     blocks of 128 KiB and more are mapped on their own and unmapped when freed, and the
//     threshold no longer rises after a large block is freed (glibc's default), which left freed
//     multi-megabyte buffers in the heap.
//   returnFreePages() -> malloc_trim(0): gives the free pages inside every arena back to the
//     system, not only those at the top of the main heap.
// Both answer false where the C library is not glibc (musl, macOS), which has neither.
#include <node_api.h>
#include <stdbool.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#define MMAP_THRESHOLD_BYTES (128 * 1024)
// Fixing the mmap threshold also fixes the trim threshold at its 128 KiB default, so that every
// free() at the heap's top gave memory back and the next allocation faulted it in again (about
// 1 ms more per 10k scrape). Not much higher: a thread's arena shrinks only past it, and
// malloc_trim() leaves the top of those arenas alone (at 64 MiB, four of them held 70 MiB).
#define TRIM_THRESHOLD_BYTES (4 * 1024 * 1024)

static napi_value boolean(napi_env env, bool value) {
  napi_value result;
  napi_get_boolean(env, value, &result);
  return result;
}

static napi_value hold_big_blocks_apart(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __GLIBC__
  return boolean(env, mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1 && mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1);
#else
  return boolean(env, false);
#endif
}

static napi_value return_free_pages(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __GLIBC__
  malloc_trim(0);
  return boolean(env, true);
#else
  return boolean(env, false);
#endif
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"holdBigBlocksApart", NULL, hold_big_blocks_apart, NULL, NULL, NULL, napi_enumerable, NULL},
      {"returnFreePages", NULL, return_free_pages, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
