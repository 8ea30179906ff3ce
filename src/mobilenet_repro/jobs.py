"""What every workflow job does first: its output goes to its log, its failure to the terminal.

TensorFlow writes its C++ start-up lines (oneDNN notices, cpu_feature_guard, absl) straight
to the process's standard error, before Python's logging exists, so `sys.stderr` alone is not
enough: file descriptor 2 itself is pointed at the job's log. The terminal keeps one line per
failing job: its error message and the log's path, where the full traceback is, a line per
warning (`warn`) and, from long jobs, a progress line now and then (`tell`). Which Keras
backend a job runs on is the job's own choice (`training.backends`).
"""

from __future__ import annotations

import os
import sys
import traceback

TAIL_LINES = 8  # lines of a failing job's message shown in the terminal

# Where `warn` also writes once `log_to` has pointed standard error at a log: the terminal
# Snakemake runs in, its job's name and the log's path.
_terminal: dict = {}


def start_job(snakemake, log: str | None = None, append: bool = False) -> None:
    """Send this job's standard error (Python and C++) to its log (`log`, else the rule's
    first), and its error message to the terminal too. Call before importing TensorFlow."""
    wildcards = ", ".join(f"{k}={v}" for k, v in snakemake.wildcards.items())
    job = f"rule {snakemake.rule}" + (f" ({wildcards})" if wildcards else "")
    log_to(log or snakemake.log[0], append, job)
    # Pretrained weights from the configured Keras cache folder (models.weights), before any
    # import of Keras, which reads KERAS_HOME once.
    folder = (getattr(snakemake, "config", None) or {}).get("pretrained_weights_dir")
    if folder:
        os.environ["KERAS_HOME"] = os.path.abspath(folder)


def log_to(path: str, append: bool = False, job: str = "") -> None:
    """Send this process's standard error (Python and C++) to `path`; errors also to the
    terminal as `job` failed: <message>. Call before importing TensorFlow."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's INFO and WARNING lines
    terminal = os.fdopen(os.dup(2), "w", buffering=1)
    log = open(path, "a" if append else "w", buffering=1)  # noqa: SIM115 (lives as long as the job)
    os.dup2(log.fileno(), 2)
    sys.stderr = log
    # Which checkout's code this job runs (the workflow's own, not an installed copy's).
    print(f"mobilenet_repro from {os.path.dirname(os.path.abspath(__file__))}", file=log)

    def report(kind, value, tb):
        traceback.print_exception(kind, value, tb, file=log)
        log.flush()
        message = "".join(traceback.format_exception_only(kind, value)).rstrip().splitlines()
        lines = "\n    ".join(message[-TAIL_LINES:])
        print(f"{job or 'job'} failed:\n    {lines}\n  (full log: {path})", file=terminal)

    sys.excepthook = report
    _terminal.update(handle=terminal, job=job or "job", log=path)


def warn(msg: str) -> None:
    """A warning the user must see: in the job's log and, inside a job, in the terminal too
    (a discarded checkpoint or a repaired cache changes what the job does)."""
    print(f"WARNING: {msg}", file=sys.stderr, flush=True)
    if _terminal:
        print(
            f"{_terminal['job']} warning:\n    {msg}\n  (full log: {_terminal['log']})",
            file=_terminal["handle"],
            flush=True,
        )


def tell(msg: str) -> None:
    """A progress line for the terminal alone (the job's log has its own): inside a job only,
    as elsewhere standard error is the terminal and the log line already reaches it."""
    if _terminal:
        print(msg, file=_terminal["handle"], flush=True)
