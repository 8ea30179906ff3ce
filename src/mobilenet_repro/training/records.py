"""What a run records about itself: its fingerprint, hardware, package versions and timings."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

from mobilenet_repro.runs import DEFAULT as DEFAULT_BACKEND
from mobilenet_repro.training.backends import PACKAGES, accelerators


def fingerprint(spec: dict) -> str:
    """A short hash of a run spec: a checkpoint of other settings is never resumed."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def hardware_info(threads: int, backend: str = DEFAULT_BACKEND) -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "gpus": accelerators(backend),
        "platform": platform.platform(),
    }


def package_versions(backend: str = DEFAULT_BACKEND) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in (
        *PACKAGES[backend],
        "keras",
        "numpy",
        "scikit-learn",
        "mobilenet-repro",
    ):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


def process_age() -> float | None:
    """Seconds since this process started (interpreter start-up included); None if unknown."""
    try:
        import psutil

        return time.time() - psutil.Process().create_time()
    except Exception:  # psutil absent, or no permission: the figure is informational
        return None


def progress(msg: str) -> None:
    """A line of the job's log (standard error, which the job points at its log file)."""
    print(msg, file=sys.stderr, flush=True)


class Timings(dict):
    """Wall-clock seconds per phase of this invocation: where a job's time goes besides fit."""

    def __init__(self):
        super().__init__(startup=process_age())
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self[name] = self.get(name, 0.0) + now - self._t
        self._t = now

    def add(self, name: str, seconds: float) -> None:
        """Seconds spent on `name` inside another phase (checkpoints inside fit)."""
        self[name] = self.get(name, 0.0) + seconds

    def rounded(self) -> dict:
        return {k: None if v is None else round(v, 3) for k, v in self.items()}
