# Opswall: `make demo` runs the demo wall, `make test` runs every test.
# Both install what they need first (Debian packages when missing, then .venv).

PYTHON := .venv/bin/python
SETUP_STAMP := .venv/.setup-done

.PHONY: setup demo test test-fast lint typecheck clean

setup:
	@./scripts/setup.sh

demo: setup
	.venv/bin/opswall demo

# The suite runs inside a private network namespace (loopback only) so that no
# multicast from the mDNS tests can reach the machine's real network.
test: setup
	./scripts/run-tests.sh

test-fast: setup
	./scripts/run-tests.sh -m "not wall and not browser"

lint: setup
	.venv/bin/ruff check controller tests bench
	.venv/bin/mypy

typecheck: setup
	.venv/bin/mypy

clean:
	rm -rf .venv .opswall-demo-state test-artifacts .pytest_cache .mypy_cache

include image-build/image.mk
include bench/bench.mk
