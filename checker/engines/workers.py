"""Worker processes that never outlive checker.

A worker blocked on its task pipe does not notice that checker was killed (kill -9, an OOM kill, a
cancelled CI job): the pipe's other end is still open in its sibling workers, so it would wait for
ever, holding memory (found alive 28 minutes later). On Linux the kernel is asked to kill the
worker when its parent dies (prctl PR_SET_PDEATHSIG); elsewhere a daemon thread watches the
parent's pid. Both run first thing in the worker, before it does any work.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from typing import Any

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_INTERVAL = 0.5  # seconds between parent checks where prctl is not available


def die_with_parent(parent: int) -> None:
    """Make this (worker) process end when process `parent` ends. Call it in the worker."""
    if sys.platform.startswith("linux") and _pdeathsig():
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
        return
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="parent-watch").start()


def _pdeathsig() -> bool:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL)
    os._exit(1)


# A forked worker maps all of its parent's memory: it is counted in the worker's resident set, and
# copied for real page by page as reference counts and the garbage collector touch the parent's
# objects. With a large inventory loaded, workers start afresh instead (spawn: ~0.3 s, ~50 MB each).
FORK_MAX_PARENT_BYTES = 128 * 2**20


def context() -> Any:
    """fork where there is one and the parent is small (fastest; the parent holds no regopy
    interpreter and no threads of ours when workers start), spawn otherwise; CHECKER_MP_START
    overrides, for tests."""
    small = resident_bytes() <= FORK_MAX_PARENT_BYTES
    method = "fork" if small and "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(os.environ.get("CHECKER_MP_START", method))


def resident_bytes() -> int:
    """This process's resident memory, from /proc (0 where there is none: fork is then kept)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
