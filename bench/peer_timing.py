"""Timing shared by the Python peers of bench/: median milliseconds of a call, after one untimed warm-up call."""
import statistics
import time


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)
