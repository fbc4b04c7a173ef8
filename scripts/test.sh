#!/usr/bin/env bash
# `npm test` ends here (through scripts/bootstrap.mjs, which provides Node 24 and pnpm): start the real services the
# suites need, build once, check lint and types, then run every suite. The last line is the runner's summary.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/services.sh up
eval "$(bash scripts/services.sh env)"
export NEXT_TELEMETRY_DISABLED=1

pnpm build
# The agent's single executables (Node from the npm registry, cached in node_modules/.cache after the first run):
# every suite that starts the agent runs the Linux one, the way clients get it.
pnpm build:agent
export E3_AGENT_EXECUTABLE="$PWD/dist/agent/e3-backup-agent-linux-x64"
pnpm lint
pnpm typecheck
pnpm vitest run "$@"
