#!/usr/bin/env bash
# The main job. For now: a demonstration of the core on the default backend.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$SEQREC_ROOT/scripts/build.sh" >&2
exec "$SEQREC_ROOT/build/bin/seqrec-core-demo" "$@"
