#!/bin/sh
# CI for the VS Code extension: install from the lockfile, lint, type-check and bundle, run the
# unit and smoke tests (the smoke test starts $KSQL_COMMAND lsp, default `ksql` on PATH), and
# package the .vsix. Any failure fails the script.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run lint
npm test
npm run package
# The .vsix carries the project's licence (LICENSE links to the top-level file).
npx vsce ls --no-dependencies | grep -qx LICENSE || { echo "ci.sh: LICENSE is not packaged" >&2; exit 1; }
