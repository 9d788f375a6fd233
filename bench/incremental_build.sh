#!/usr/bin/env bash
# Incremental `cargo build` after an edit of one resolver file, in the tree at BEFORE (a
# revision, checked out as a worktree beside this one) and in this tree, alternating so
# both see the same machine. Usage: bench/incremental_build.sh [BEFORE] [ROUNDS]
set -euo pipefail
before_rev=${1:-f229400}
rounds=${2:-6}
here=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/sandboxql-target}
wt=$(mktemp -d /tmp/sandboxql-before.XXXX)
git -C "$here" worktree add -q --detach "$wt" "$before_rev"
trap 'git -C "$here" worktree remove --force "$wt"' EXIT
# The resolver file of each layout.
file_of() { if [ -f "$1/crates/graphql/src/sandbox_api.rs" ]; then echo "$1/crates/graphql/src/sandbox_api.rs"; else echo "$1/src/graphql/sandbox_api.rs"; fi; }
B=$(file_of "$wt"); A=$(file_of "$here")
(cd "$wt" && cargo build -q) && (cd "$here" && cargo build -q)
for i in $(seq 1 "$rounds"); do
  for side in before after; do
    dir=$([ $side = before ] && echo "$wt" || echo "$here"); f=$([ $side = before ] && echo "$B" || echo "$A")
    echo "// edit $i" >> "$f"
    start=$(date +%s.%N); (cd "$dir" && cargo build -q); end=$(date +%s.%N)
    echo "$side $(echo "$end - $start" | bc)"
  done
done
git -C "$here" checkout -q -- "$A"
