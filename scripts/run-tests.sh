#!/usr/bin/env bash
# Run the test suite inside a private network namespace with only loopback, so that
# multicast DNS and WS-Discovery never leave this machine. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
pytest_cmd=(.venv/bin/python -m pytest -p no:cacheprovider "$@")
if unshare -n true 2>/dev/null; then
  unshare -n sh -c 'ip link set lo up && exec "$@"' sh "${pytest_cmd[@]}"
else
  echo "run-tests: cannot create a network namespace here; tests bind 127.0.0.1 only" >&2
  "${pytest_cmd[@]}"
fi
status=$?
echo "test suite took $(( $(date +%s) - start )) s"
exit $status
