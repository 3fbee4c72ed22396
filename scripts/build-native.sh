#!/usr/bin/env bash
# Compiles the native programs next to their sources (packages/worker-node/native/build/): the sandbox
# launcher and the model relay, statically, so no dynamic loader runs inside the sandbox. Skips each one
# whose binary is newer than its source. Needs a C compiler and libc's static archive (gcc, libc6-dev).
set -euo pipefail
cd "$(dirname "$0")/../packages/worker-node/native"
cc=${CC:-cc}
for name in sandbox-launcher model-relay; do
  src=$name.c
  out=build/$name
  if [ -x "$out" ] && [ "$out" -nt "$src" ]; then continue; fi
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "build-native: no C compiler ('$cc'): apt-get install gcc libc6-dev, or run scripts/setup.sh" >&2
    exit 1
  fi
  mkdir -p build
  "$cc" -O2 -static -Wall -Wextra -Werror -o "$out.tmp" "$src"
  mv "$out.tmp" "$out"
done
