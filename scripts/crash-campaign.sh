#!/usr/bin/env bash
# kill -9 campaign: RUNS (default 1000) runs of import, appends, project, rebuild, workers and
# snapshot create, each killed at a random moment, then checked (see scripts/crash_campaign.py
# and scripts/README-campaigns.md). Builds nothing: ADMIN (default .build/release/admin).
# SEED=N replays a campaign; ONLY_RUN=K with the same SEED replays one run; SELFTEST=1 first
# plants faults the checker must flag.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export ADMIN="${ADMIN:-$here/../.build/release/admin}"
if [ ! -x "$ADMIN" ]; then
  echo "error: no admin binary at $ADMIN (run \`make release\`, or set ADMIN)" >&2
  exit 2
fi
exec python3 "$here/crash_campaign.py" "$@"
