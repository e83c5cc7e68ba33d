"""Opswall benchmark suite: real RTSP, real mpv under Xvfb, figures with their spread.

Run ``make bench`` (or ``./bench/run.sh``); each figure lives in its own module and
returns a :class:`bench.harness.Figure`; :mod:`bench.report` writes the results.
"""
