#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain. Idempotent and quick when
# everything is already there.
set -euo pipefail
need_apt=()
command -v pg_isready >/dev/null || need_apt+=(postgresql-client)
if ((${#need_apt[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
echo "test prerequisites present"
