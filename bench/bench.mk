# `make bench`: the benchmark suite on simulated cameras, real mpv and Xvfb, in a
# private network namespace. Results in bench/results/ (latest.json, latest.md and a
# dated copy). BENCH_SOAK_S=600 gives the ten-minute memory figure;
# BENCH_ARGS="--quick" or "--only serial,discovery" narrow the run.

.PHONY: bench bench-quick

bench: setup
	./bench/run.sh $(BENCH_ARGS)

bench-quick: setup
	./bench/run.sh --quick $(BENCH_ARGS)
