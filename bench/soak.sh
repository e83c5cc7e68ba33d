#!/usr/bin/env bash
# Run the soak fault campaign (`python -m bench.soak`) inside a private network
# namespace with only loopback, like bench/run.sh, so the RTSP streams and the API flood
# never leave this machine. Arguments go to bench.soak (e.g. --duration 600 --seed 7).
# Exits non-zero when any check fails.
set -uo pipefail
cd "$(dirname "$0")/.."

soak_cmd=(env PYTHONPATH=. .venv/bin/python -m bench.soak "$@")
if unshare -n true 2>/dev/null; then
  unshare -n sh -c 'ip link set lo up && exec "$@"' sh "${soak_cmd[@]}"
else
  echo "soak: cannot create a network namespace here; binding 127.0.0.1 only" >&2
  "${soak_cmd[@]}"
fi
