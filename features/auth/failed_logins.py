"""Failed POST /token attempts per client, in a sliding window: enough of them, and the client
waits (429 + Retry-After) before it may try again. In memory, per worker process."""

import time
from collections import deque

# Beyond this many clients, those with no failure left in the window are forgotten, so that
# many addresses cannot grow the table without bound.
_PRUNE_ABOVE = 10_000


class FailedLogins:
    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.get(client, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def wait_s(self, client: str) -> float:
        """Seconds until `client` may try again (0: now)."""
        now = time.monotonic()
        failures = self._recent(client, now)
        if len(failures) < self.max_failures:
            return 0.0
        return failures[-self.max_failures] + self.window_s - now

    def failed(self, client: str) -> int:
        """Records a failure; returns the client's failures in the window."""
        now = time.monotonic()
        if len(self._failures) > _PRUNE_ABOVE:
            self._failures = {c: f for c, f in self._failures.items() if self._recent(c, now)}
        failures = self._recent(client, now)
        failures.append(now)
        self._failures[client] = failures
        return len(failures)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
