"""One trainer per run: an exclusive lock beside the run's checkpoint folder.

A training process orphaned by a killed Snakemake keeps training; a second one started on
the same run would resume from the orphan's checkpoint and the two would overwrite each
other's outputs. The lock is an OS file lock (flock): the kernel releases it when its
process ends in any way, so a lock file left by a crash or a machine restart holds nothing
and never blocks a later run. The file records who holds it, for the refusal's message.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not protected there
    fcntl = None


class RunLocked(RuntimeError):
    """Another live process is training this run."""


@contextlib.contextmanager
def trainer_lock(checkpoint_dir: Path | str, run_id: str):
    """Hold `<checkpoint_dir>.lock` while training; refuse if another process holds it."""
    path = Path(f"{checkpoint_dir}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise RunLocked(
                    f"[{run_id}] is already being trained by {holder} (lock {path}); wait "
                    "for it to finish, or stop that process, then run the same command again"
                ) from None
        handle.seek(0)
        handle.truncate()
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        handle.write(f"process {os.getpid()} on {socket.gethostname()}, started {started}\n")
        handle.flush()
        yield
