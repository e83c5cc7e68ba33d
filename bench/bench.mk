# `make bench`: the benchmark suite on simulated cameras, real mpv and Xvfb, in a
# private network namespace. Results in bench/results/ (latest.json, latest.md and a
# dated copy). BENCH_SOAK_S=600 gives the ten-minute memory figure;
# BENCH_ARGS="--quick" or "--only serial,discovery" narrow the run.
#
# `make soak`: the fault campaign of issue 9 (cameras killed, stalled and restarted,
# the serial adapter unplugged, the API flooded, configs reloaded) for SOAK_S seconds,
# in a private network namespace. Report in bench/results/soak-latest.json and .md;
# fails when any check fails. SOAK_SEED=N repeats a run (default: a fresh seed, logged).

SOAK_S ?= 600
SOAK_SEED ?=

.PHONY: bench bench-quick soak

bench: setup
	./bench/run.sh $(BENCH_ARGS)

bench-quick: setup
	./bench/run.sh --quick $(BENCH_ARGS)

soak: setup
	./bench/soak.sh --duration $(SOAK_S) $(if $(SOAK_SEED),--seed $(SOAK_SEED))
