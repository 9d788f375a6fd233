#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain. Idempotent and quick when
# everything is already there.
set -euo pipefail
TOOLS=/var/tmp/sandboxql-tools

need_apt=()
command -v pg_isready >/dev/null || need_apt+=(postgresql-client)
command -v bwrap >/dev/null || need_apt+=(bubblewrap)
[ -x /usr/bin/python3 ] || need_apt+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v file >/dev/null || need_apt+=(file)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if ((${#need_apt[@]})); then
  echo "apt: installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The real Claude Code CLI (its Linux binary ships in a registry package and runs offline).
# The version the built-in template installs on Modal (`--claude-code-version`'s default).
CLAUDE_VERSION=2.1.332
if ! "$TOOLS/claude/node_modules/.bin/claude" --version 2>/dev/null | grep -q "^$CLAUDE_VERSION "; then
  echo "npm: installing @anthropic-ai/claude-code@$CLAUDE_VERSION"
  mkdir -p "$TOOLS/claude"
  (cd "$TOOLS/claude" && npm install --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$CLAUDE_VERSION" >/dev/null)
fi
"$TOOLS/claude/node_modules/.bin/claude" --version >/dev/null

# A real S3-compatible server for the snapshot tests.
if [ ! -x "$TOOLS/moto/bin/moto_server" ]; then
  echo "pip: installing moto[server]"
  python3 -m venv "$TOOLS/moto"
  "$TOOLS/moto/bin/pip" install -q 'moto[server]' >/dev/null
fi

# Modal's official client (its compiled protos are the reference for proto/; its client
# drives the fake Modal in the tests), and grpcio-tools to compile proto/ for the check.
MODAL_VERSION=1.6.4
if ! "$TOOLS/modal/bin/python" -c "import modal, grpc_tools; assert modal.__version__ == '$MODAL_VERSION'" 2>/dev/null; then
  echo "pip: installing modal==$MODAL_VERSION grpcio-tools"
  python3 -m venv "$TOOLS/modal"
  "$TOOLS/modal/bin/pip" install -q "modal==$MODAL_VERSION" grpcio-tools >/dev/null
fi

# Standard Webhooks' reference library (PyPI): the webhook tests' receiver verifies every
# delivery with it.
if ! "$TOOLS/webhooks/bin/python" -c "import standardwebhooks" 2>/dev/null; then
  echo "pip: installing standardwebhooks"
  python3 -m venv "$TOOLS/webhooks"
  "$TOOLS/webhooks/bin/pip" install -q standardwebhooks >/dev/null
fi

# graphql-http's auditServer: the GraphQL-over-HTTP spec's reference audit.
if [ ! -f "$TOOLS/audit/node_modules/graphql-http/package.json" ]; then
  echo "npm: installing graphql-http"
  mkdir -p "$TOOLS/audit"
  (cd "$TOOLS/audit" && npm install --no-audit --no-fund --loglevel=error graphql-http@1.23.1 graphql@16 >/dev/null)
fi

# The stock graphql-sse client, for the SSE transport test.
if [ ! -f "$TOOLS/sse/node_modules/graphql-sse/package.json" ]; then
  echo "npm: installing graphql-sse"
  mkdir -p "$TOOLS/sse"
  (cd "$TOOLS/sse" && npm install --no-audit --no-fund --loglevel=error graphql-sse@2.6.1 graphql@16 >/dev/null)
fi

# graphql-codegen (typescript plugin): types generated from the server's own URL.
if [ ! -x "$TOOLS/codegen/node_modules/.bin/graphql-codegen" ]; then
  echo "npm: installing @graphql-codegen/cli"
  mkdir -p "$TOOLS/codegen"
  (cd "$TOOLS/codegen" && npm install --no-audit --no-fund --loglevel=error @graphql-codegen/cli@5.0.7 @graphql-codegen/typescript@4.1.6 graphql@16 >/dev/null)
fi

# playwright-core drives Debian's chromium in the playground's browser tests.
if [ ! -f "$TOOLS/browser/node_modules/playwright-core/package.json" ]; then
  echo "npm: installing playwright-core"
  mkdir -p "$TOOLS/browser"
  (cd "$TOOLS/browser" && npm install --no-audit --no-fund --loglevel=error playwright-core@1.65.1 >/dev/null)
fi

echo "test prerequisites present"
