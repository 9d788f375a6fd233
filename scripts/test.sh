#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need, starts
# PostgreSQL if it is down, then checks formatting, lints, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/sandboxql-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Tests must not inherit a developer's server settings.
unset DATABASE_URL SANDBOXQL_DATA_DIR SANDBOXQL_BACKEND || true

step() { printf '\n==> %s\n' "$*"; }

step "prerequisites"
scripts/install-test-deps.sh

step "postgres"
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "tests"
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
cargo nextest run --workspace --no-fail-fast "$@"

# The live Modal test runs only where credentials are set (see README, "Modal").
if [ -n "${MODAL_TOKEN_ID:-}" ] && [ -n "${MODAL_TOKEN_SECRET:-}" ]; then
  step "live Modal test"
  cargo nextest run --run-ignored only modal_live
fi
