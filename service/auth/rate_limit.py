"""Per-key rate limit: a token bucket per API key, in this process's memory.

Each key may send ``burst`` requests at once and then ``per_minute`` a minute. The buckets live in one
process: with ``--workers N`` (or N replicas) a key gets up to N times the rate. Thread-safe (the sync
routes run in a thread pool).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_BUCKETS = 10_000  # beyond this, full (idle) buckets are dropped: they hold nothing a new bucket would not


class TokenBucketLimiter:
    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take one request's token: 0.0 if allowed, else the seconds until one is available (nothing taken)."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > MAX_BUCKETS:
                    self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        for k, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate >= self.burst:
                del self._buckets[k]
