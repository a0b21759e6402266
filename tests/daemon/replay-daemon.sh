#!/bin/bash
# replay-daemon.sh CLI PROG PRELOAD — the differential tester's Linux 7.2 traces
# (tests/diff/replay.sh) replayed under the shim in daemon mode: a `softiommu serve` on a
# private socket, the program's every call forwarded to it. Each line must be Linux's.
set -uo pipefail
CLI=$1
PROG=$2
PRELOAD=$3
dir=$(mktemp -d /tmp/softiommu-replay.XXXXXX)
"$CLI" serve --socket "$dir/iommu.sock" 2>/dev/null &
daemon=$!
trap 'kill "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 200); do [ -S "$dir/iommu.sock" ] && break; sleep 0.05; done
SOFTIOMMU_DAEMON=$dir/iommu.sock "$(dirname "$0")/../diff/replay.sh" "$PROG" "$PRELOAD"
rc=$?
# The daemon survived every request
kill -0 "$daemon" 2>/dev/null || { echo "replay-daemon: the daemon died"; rc=1; }
exit $rc
