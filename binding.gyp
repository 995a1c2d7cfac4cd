# The exporter's own native addon (native/malloc.c): glibc's malloc knobs, see
# src/native-malloc.ts. Built by `npm ci` (tools/build-native.mjs); optional at run time.
{
  "targets": [
    {
      "target_name": "statusmate_malloc",
      "sources": ["native/malloc.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
