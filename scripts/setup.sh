#!/usr/bin/env bash
# Installs what a fresh machine lacks to build, test and run a worker, then the workspace's packages.
# Idempotent: installs nothing that is already there. Used by the README's set-up line and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)      # the sandbox
command -v slirp4netns >/dev/null 2>&1 || missing+=(slirp4netns)  # network OPEN jobs: the outside world, not the host
command -v ip >/dev/null 2>&1 || missing+=(iproute2)              # network OPEN jobs: routes that deny the host's addresses
command -v cc >/dev/null 2>&1 || missing+=(gcc)                   # compiles the sandbox launcher and model relay (native/)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)               # delegated agents: opencode's grep and glob tools
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

# The OpenCode that delegated agent tasks run (agent.opencode_dir), bound read-only into their sandboxes and
# run there as a slot uid, hence world-readable. Only when the binary is missing or another version.
opencode_version=1.18.33
opencode_dir=/opt/opencode/base
case "$(uname -m)" in
  x86_64) opencode_arch=x64 ;;
  aarch64) opencode_arch=arm64 ;;
  *) opencode_arch= ;;
esac
# Prints the first of the platform's binaries that runs (the -baseline twin is for CPUs without AVX2).
opencode_binary() {
  local bin scratch
  for bin in "$opencode_dir/node_modules/opencode-linux-$opencode_arch"{,-baseline}/bin/opencode; do
    scratch=$(mktemp -d)
    if [ -x "$bin" ] && [ "$(HOME=$scratch TMPDIR=$scratch timeout 10 "$bin" --version 2>/dev/null)" = "$opencode_version" ]; then
      rm -rf "$scratch"
      echo "$bin"
      return 0
    fi
    rm -rf "$scratch"
  done
  return 1
}
if [ -z "$opencode_arch" ]; then
  echo "setup: no opencode build for $(uname -m); delegated agent tasks will be refused" >&2
elif [ "$(id -u)" != 0 ]; then
  opencode_binary >/dev/null || echo "setup: opencode $opencode_version is not in $opencode_dir; run this script as root for delegated agent tasks" >&2
elif ! opencode_binary >/dev/null; then
  echo "setup: installing opencode-ai@$opencode_version into $opencode_dir (npm)"
  mkdir -p "$opencode_dir"
  (umask 022 && npm install --prefix "$opencode_dir" --no-audit --no-fund --loglevel=error "opencode-ai@$opencode_version" >/dev/null)
  chmod -R a+rX "$opencode_dir"
  opencode_binary >/dev/null || { echo "setup: opencode $opencode_version in $opencode_dir does not run" >&2; exit 1; }
fi
