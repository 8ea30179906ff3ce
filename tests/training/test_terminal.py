"""Progress on the terminal: long jobs show how far, how fast and how long still; short ones
stay quiet (training.terminal, callbacks.ProgressLine, jobs.tell)."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from conftest import ROOT

from mobilenet_repro import jobs
from mobilenet_repro.training.terminal import Pacer, duration, rate_and_left


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def terminal(monkeypatch):
    """What jobs.tell writes to the terminal, as inside a workflow job."""
    handle = io.StringIO()
    monkeypatch.setattr(jobs, "_terminal", {"handle": handle, "job": "rule train", "log": "l"})
    return handle


def test_durations_and_rates_read_as_a_person_would_say_them():
    assert [duration(s) for s in (0.4, 45, 185, 3725)] == ["0s", "45s", "3m05s", "1h02m"]
    assert rate_and_left(1000, 5000, 10.0, "img") == "100 img/s, ~40s left"
    assert rate_and_left(0, 5000, 0.0, "img") == "? img/s"


def test_the_pacer_allows_a_line_every_so_often():
    clock = Clock()
    pacer = Pacer(30.0, clock)
    clock.now = 29.9
    assert not pacer.due()
    clock.now = 30.0
    assert pacer.due()
    pacer.tell("line")
    assert not pacer.due()


def _progress_line(tiny_config, monkeypatch, epochs=4):
    """A ProgressLine of a run of `epochs` on 100 images (4 steps per epoch), on a fake clock
    that the test moves, its rate and time left computed on that clock too."""
    from mobilenet_repro.run_model import run_spec
    from mobilenet_repro.training import callbacks
    from mobilenet_repro.training.checkpoint import fresh_state
    from mobilenet_repro.training.plan import RunPlan
    from mobilenet_repro.validation import check_config

    tiny_config["recipes"]["quick"] |= {"epochs": epochs, "batch_size": 25}
    spec = run_spec(check_config(tiny_config), "tiny", "digits", "v1_025_32", 0)
    run, state, clock = RunPlan(spec, 10, train_images=100), fresh_state(), Clock()
    monkeypatch.setattr(callbacks.time, "perf_counter", clock)
    line = callbacks.ProgressLine(run, state, Pacer(30.0, clock))
    line.on_train_begin()
    return line, state, clock


def _epoch(line, state, clock, epoch, seconds):
    line.on_epoch_begin(epoch)
    for batch in range(4):
        clock.now += seconds / 4
        line.on_train_batch_end(batch)
    row = {"epoch": epoch + 1, "step": 4 * (epoch + 1), "loss": 1.0, "accuracy": 0.5}
    state["history"].append(row | {"val_accuracy": 0.4, "learning_rate": 1e-3, "seconds": seconds})
    line.on_epoch_end(epoch)


def _log(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("[tiny")]


def test_a_long_run_shows_its_epochs_rate_and_time_left_on_the_terminal(
    tiny_config, terminal, monkeypatch, capsys
):
    line, state, clock = _progress_line(tiny_config, monkeypatch)
    for epoch in range(2):
        _epoch(line, state, clock, epoch, seconds=60.0)  # 15 s a step
    shown = terminal.getvalue().splitlines()
    # Inside each minute-long epoch a line at 30 s, and each epoch's own line.
    assert shown == [
        "[tiny/digits/v1_025_32/seed0] epoch 0.5/4 step 2/16: 2 img/s, ~3m30s left",
        "[tiny/digits/v1_025_32/seed0] epoch 1/4 step 4/16 loss=1.0000 acc=0.5000 "
        "val_acc=0.4000 lr=1.00e-03 60.0s, 2 img/s, ~3m00s left",
        "[tiny/digits/v1_025_32/seed0] epoch 1.5/4 step 6/16: 2 img/s, ~2m30s left",
        "[tiny/digits/v1_025_32/seed0] epoch 2/4 step 8/16 loss=1.0000 acc=0.5000 "
        "val_acc=0.4000 lr=1.00e-03 60.0s, 2 img/s, ~2m00s left",
    ]
    assert _log(capsys) == [shown[1], shown[3]]  # the log: every epoch


def test_a_short_run_leaves_the_terminal_alone_and_logs_every_epoch(
    tiny_config, terminal, monkeypatch, capsys
):
    line, state, clock = _progress_line(tiny_config, monkeypatch)
    for epoch in range(4):
        _epoch(line, state, clock, epoch, seconds=2.0)
    assert terminal.getvalue() == ""
    log = _log(capsys)
    assert len(log) == 4 and log[-1].endswith("50 img/s, ~0s left")


def test_many_short_epochs_show_a_line_at_most_every_30_seconds(tiny_config, terminal, monkeypatch):
    line, state, clock = _progress_line(tiny_config, monkeypatch, epochs=40)
    for epoch in range(40):
        _epoch(line, state, clock, epoch, seconds=4.0)  # 160 s in all
    assert len(terminal.getvalue().splitlines()) == 5  # at 32, 64, 96, 128, 160 s


def test_tell_writes_to_the_terminal_only(tmp_path):
    """In a job (standard error sent to its log by jobs.log_to) a progress line reaches the
    terminal; the log has its own line, written by the job."""
    log = tmp_path / "job.log"
    code = ";".join(
        ("import sys", "sys.path.insert(0, sys.argv[1])",
         "from mobilenet_repro.jobs import log_to, tell",
         "log_to(sys.argv[2], job='rule x')", "tell('[run] epoch 3/30: 400 img/s, ~5m00s left')")
    )  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "src"), str(log)], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stderr == "[run] epoch 3/30: 400 img/s, ~5m00s left\n"
    assert "epoch 3/30" not in log.read_text()
