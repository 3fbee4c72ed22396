#!/usr/bin/env bash
# Compiles the sandbox launcher (packages/worker-node/native/sandbox-launcher.c) next to its source,
# statically, so no dynamic loader runs as root inside the sandbox. Skips the compile when the binary
# is newer than the source. Needs a C compiler and libc's static archive (gcc, libc6-dev).
set -euo pipefail
cd "$(dirname "$0")/../packages/worker-node/native"
src=sandbox-launcher.c
out=build/sandbox-launcher
if [ -x "$out" ] && [ "$out" -nt "$src" ]; then exit 0; fi
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "build-native: no C compiler ('$cc'): apt-get install gcc libc6-dev, or run scripts/setup.sh" >&2
  exit 1
fi
mkdir -p build
"$cc" -O2 -static -Wall -Wextra -Werror -o "$out.tmp" "$src"
mv "$out.tmp" "$out"
