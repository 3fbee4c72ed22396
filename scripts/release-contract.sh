#!/usr/bin/env bash
# Records the wire contract as released: proto/released.txtpb, the descriptors of proto/ (no
# comments, so rewording a comment never needs a release) in protobuf text format, readable and
# diffable in review. `pnpm check:contract` (run by `pnpm test`) compares proto/ against it with
# `buf breaking` (buf.yaml's rules) and fails on any change that breaks released clients.
# Run this when a contract version is released, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."

image=proto/released.txtpb
# buf picks the image format from the file name.
tmp=$(mktemp --suffix=.txtpb)
trap 'rm -f "$tmp"' EXIT
node_modules/.bin/buf build proto --exclude-source-info -o "$tmp"
{
  echo "# The released opencode.worker.v1 contract: the baseline of 'pnpm check:contract'."
  echo "# Written by scripts/release-contract.sh ('pnpm release:contract'). DO NOT EDIT."
  cat "$tmp"
} > "$image"
echo "recorded the released contract in $image"
