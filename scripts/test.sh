#!/usr/bin/env bash
# `npm test` ends here (through scripts/bootstrap.mjs, which provides Node 24 and pnpm): start the real services the
# suites need, build once, check lint and types, then run every suite. The last line is the runner's summary.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/services.sh up
eval "$(bash scripts/services.sh env)"
export NEXT_TELEMETRY_DISABLED=1

pnpm build
pnpm lint
pnpm typecheck
pnpm vitest run "$@"
