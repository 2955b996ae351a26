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


def context() -> Any:
    """fork where there is one (fastest; the parent holds no regopy interpreter and no threads of
    ours when workers start), spawn elsewhere; CHECKER_MP_START overrides, for tests."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(os.environ.get("CHECKER_MP_START", method))
