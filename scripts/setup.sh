#!/usr/bin/env bash
# Installs what a fresh machine lacks to build, test and run a worker, then the workspace's packages.
# Idempotent: installs nothing that is already there. Used by the README's set-up line and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)      # the sandbox
command -v slirp4netns >/dev/null 2>&1 || missing+=(slirp4netns)  # network OPEN jobs: the outside world, not the host
command -v ip >/dev/null 2>&1 || missing+=(iproute2)              # network OPEN jobs: routes that deny the host's addresses
command -v cc >/dev/null 2>&1 || missing+=(gcc)                   # compiles the sandbox launcher (native/)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || missing+=(libc6-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]} (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing ${missing[*]}; install them (e.g. sudo apt-get install ${missing[*]}) for sandboxed jobs" >&2
  fi
fi

# The pnpm version known to work here (see docs/decisions.md); corepack fails against the registry mirror.
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version | cut -d. -f1)" != 10 ]; then
  echo "setup: installing pnpm 10 (npm)"
  npm install -g pnpm@10.34.9 >/dev/null
fi

CI=true pnpm install --frozen-lockfile
