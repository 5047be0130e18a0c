"""Where one `dlgrade check` spends its wall time (`--profile`): the critical path, as marks.

Off unless enabled: `mark` then costs one branch. Times are seconds since the process started
(read from /proc, so interpreter start-up and imports count), so the marks line up with what a
student waits for.
"""

from __future__ import annotations

import os
import threading
import time

_marks: list[tuple[float, float, str]] = []  # (start, end, what)
_lock = threading.Lock()
_enabled = False


def _process_age() -> float:
    """Seconds since this process started (0 where /proc is missing)."""
    try:
        with open("/proc/self/stat", "rb") as stat:
            started_ticks = int(stat.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/uptime", "rb") as uptime:
            now = float(uptime.read().split()[0])
        return max(0.0, now - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


_origin = time.perf_counter() - _process_age()


def enable() -> None:
    global _enabled
    _enabled = True
    mark("start-up (interpreter, imports, arguments)", 0.0)


def now() -> float:
    """Seconds since the process started."""
    return time.perf_counter() - _origin


def mark(what: str, since: float | None = None) -> None:
    """Record `what` as ending now (a span from `since`, or a point)."""
    if _enabled:
        end = now()
        with _lock:
            _marks.append((end if since is None else since, end, what))


def render() -> str:
    """The marks in time order, as a text timeline with one bar per span."""
    if not _marks:
        return ""
    total = max(end for _, end, _ in _marks)
    width = 40
    lines = [f"where the wall time went ({total:.2f} s since the process started):"]
    for start, end, what in sorted(_marks):
        left = int(start / total * width) if total else 0
        bar = " " * left + "#" * max(1, int((end - start) / total * width) if total else 1)
        lines.append(f"  {start:6.2f} → {end:6.2f} s  |{bar:<{width}}|  {what}")
    return "\n".join(lines)
