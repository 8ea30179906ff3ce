"""One trainer per run: a second one is refused while the first lives, never after."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

from mobilenet_repro.training.lock import RunLocked, trainer_lock

HOLD = """
import sys, time
from mobilenet_repro.training.lock import trainer_lock
with trainer_lock(sys.argv[1], "exp/data/model/seed0"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_trainer_is_refused_while_the_first_lives_and_allowed_after(tmp_path):
    ckpt = tmp_path / "checkpoints" / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(ckpt)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = pytest.raises(RunLocked, match=f"process {holder.pid} on .*wait for it")
        with refused, trainer_lock(ckpt, "exp/data/model/seed0"):
            pass
    finally:
        holder.kill()  # as kill -9 would: the kernel releases its lock
        holder.wait()
    with trainer_lock(ckpt, "exp/data/model/seed0"):  # the lock file is left, but held by none
        assert f"process {os.getpid()}" in (tmp_path / "checkpoints" / "run.lock").read_text()


def test_a_lock_file_left_by_a_restart_does_not_block(tmp_path):
    stale = tmp_path / "run.lock"
    stale.write_text("process 12345 on gone-host, started 2020-01-01 00:00:00\n")
    with trainer_lock(tmp_path / "run", "r"):
        pass
