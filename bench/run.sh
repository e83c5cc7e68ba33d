#!/usr/bin/env bash
# Run the benchmark suite inside a private network namespace with only loopback, so
# the mDNS announcements and RTSP streams never leave this machine. Extra arguments go
# to `python -m bench` (e.g. --quick, --only serial,discovery).
set -uo pipefail
cd "$(dirname "$0")/.."

bench_cmd=(env PYTHONPATH=. .venv/bin/python -m bench "$@")
if unshare -n true 2>/dev/null; then
  unshare -n sh -c 'ip link set lo up && exec "$@"' sh "${bench_cmd[@]}"
else
  echo "bench: cannot create a network namespace here; binding 127.0.0.1 only" >&2
  "${bench_cmd[@]}"
fi
