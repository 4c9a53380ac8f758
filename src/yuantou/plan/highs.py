"""HiGHS instances that print nothing.

HiGHS 1.16 writes its banner straight to the process's standard output when the first
instance is made, before any option can silence it; in ``yuantou plan sourcing`` that line
would land in front of the JSON the command prints. The first instance is made with standard
output pointed at /dev/null.
"""

from __future__ import annotations

import os
import sys
import threading

import highspy

_lock = threading.Lock()
_bannered = False


def quiet_highs() -> highspy.Highs:
    """A new ``highspy.Highs`` with its log switched off."""
    global _bannered
    with _lock:
        if _bannered:
            h = highspy.Highs()
        else:
            sys.stdout.flush()
            saved = os.dup(1)
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.close(devnull)
                h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            _bannered = True
    h.setOptionValue("output_flag", False)
    return h
