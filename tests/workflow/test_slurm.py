"""The workflow on a real SLURM cluster: a single node on localhost (tools/slurm-cluster.sh),
driven through snakemake-executor-plugin-slurm and profiles/slurm.

One model, one seed. The first run gives the training job too little memory
(resources.per_model): SLURM kills it, and the workflow fails naming the job's logs. The
rerun, with the memory raised, goes on from there (the data set and the architecture tables
are not made again) and produces the report. SLURM's accounting (sacct) must show every
training job.

Skips where no cluster can be started here (not root, no apt-get or packages, daemons that
fail); with CI=true or MOBILENET_REPRO_REQUIRE_SLURM=1 that is a failure instead.
"""

from __future__ import annotations

import copy
import fcntl
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import ROOT, TINY_CONFIG

pytestmark = pytest.mark.slow

CLUSTER = ROOT / "tools" / "slurm-cluster.sh"
STATE_DIR = Path(os.environ.get("SLURM_CLUSTER_DIR", "/tmp/mobilenet-repro-slurm"))
ACCOUNT = "mobilenet"
MODEL = "v1_025_32"
TRAIN_LOG = f"logs/train/tiny/digits/{MODEL}/seed0.log"
TOO_LITTLE_MB = 400  # the job's own Snakemake needs ~150 MB, TensorFlow training > 1 GB
REQUIRED = any(
    os.environ.get(var, "").strip().lower() in ("1", "true", "yes")
    for var in ("MOBILENET_REPRO_REQUIRE_SLURM", "CI")
)
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: ([^)]+)\)")
RULE = re.compile(r"^rule (\w+):", re.M)


def unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"SLURM cluster required (CI) but unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running single-node cluster; every daemon it started is stopped afterwards."""
    if sys.version_info < (3, 11):
        unavailable("snakemake-executor-plugin-slurm needs Python 3.11+")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        unavailable('snakemake-executor-plugin-slurm not installed (pip install -e ".[test]")')
    if os.geteuid() != 0:
        unavailable("not root: starting a SLURM cluster needs apt-get, /etc/slurm and daemons")
    # One such cluster per machine (/etc/slurm, ports): wait for another test session's.
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    lock = open(STATE_DIR.with_name(STATE_DIR.name + ".lock"), "w")  # noqa: SIM115
    deadline = time.monotonic() + 900
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                unavailable("another test session's SLURM cluster is still running")
            time.sleep(2)
    env = dict(os.environ, SLURM_CLUSTER_DIR=str(STATE_DIR), SLURM_CLUSTER_ACCOUNT=ACCOUNT)
    try:
        # Holding the lock, anything left by a killed earlier session is stale: stop it.
        subprocess.run(["bash", CLUSTER, "stop"], env=env, capture_output=True, timeout=120)
        started = time.monotonic()
        start = subprocess.run(
            ["bash", CLUSTER, "start"], env=env, capture_output=True, text=True, timeout=600
        )
        if start.returncode != 0:
            unavailable(f"cannot start a SLURM cluster here:\n{start.stderr[-3000:]}")
        yield SimpleNamespace(env=env, start_seconds=time.monotonic() - started)
    finally:
        stop = subprocess.run(
            ["bash", CLUSTER, "stop"], env=env, capture_output=True, text=True, timeout=300
        )
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
        assert stop.returncode == 0, stop.stderr


def snakemake_on_slurm(cluster, workdir: Path, config: dict):
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    cmd = [
        # A hung Snakemake does not stop on SIGTERM: KILL it 10 s later.
        *("timeout", "-k", "10", "900"),
        *(sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")),
        *("--directory", str(workdir), "--configfile", str(workdir / "config.yaml")),
        *("--profile", str(ROOT / "profiles" / "slurm")),
        "--retries=0",  # the profile's retry would double the memory; show the failure
        "--slurm-init-seconds-before-status-checks=5",  # default 40 s: fine on a real cluster
        "--slurm-keep-successful-logs",
    ]
    env = dict(cluster.env, SBATCH_ACCOUNT=ACCOUNT, PYTHONPATH=str(ROOT / "src"))
    started = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    output = result.stdout + result.stderr
    submitted = {}  # SLURM job id -> (rule, SLURM log .snakemake/slurm_logs/rule_NAME/...)
    for m in SUBMITTED.finditer(output):
        log = Path(m.group(3))
        rule = next(p for p in log.parts if p.startswith("rule_")).removeprefix("rule_")
        submitted[m.group(2)] = (rule, log)
    return SimpleNamespace(
        rc=result.returncode,
        output=output,
        submitted=submitted,
        seconds=time.monotonic() - started,
    )


def sacct(job_ids) -> list[dict]:
    fields = ["JobID", "JobName", "Comment", "Account", "Partition", "ReqMem", "ReqCPUS"]
    fields += ["State", "ExitCode", "Start", "Elapsed"]
    out = subprocess.run(
        ["sacct", "-X", "-P", "-n", "-j", ",".join(job_ids), "-o", ",".join(fields)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines()]


@pytest.fixture(scope="module")
def slurm_runs(slurm_cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm")
    config = copy.deepcopy(TINY_CONFIG)
    config["models"] = {MODEL: config["models"][MODEL]}
    config["experiments"]["tiny"].update(models=[MODEL], seeds=[0])
    starved = copy.deepcopy(config)
    starved["resources"] = {"per_model": {MODEL: {"mem_mb": TOO_LITTLE_MB}}}
    failed = snakemake_on_slurm(slurm_cluster, workdir, starved)
    failed.train_log_written = (workdir / TRAIN_LOG).exists()
    rerun = snakemake_on_slurm(slurm_cluster, workdir, config)
    runs = SimpleNamespace(workdir=workdir, failed=failed, rerun=rerun, cluster=slurm_cluster)
    records = sacct([*failed.submitted, *rerun.submitted])
    runs.records = {r["JobID"]: r for r in records}
    # Shown with pytest -rA / -s: what SLURM recorded, and what the test cost.
    print(f"cluster start {slurm_cluster.start_seconds:.0f} s, failing run {failed.seconds:.0f} s,")
    print(f"rerun {rerun.seconds:.0f} s; sacct of both runs' jobs:")
    for r in records:
        print("  " + " | ".join(f"{k}={v}" for k, v in r.items()))
    return runs


def test_failed_training_job_fails_the_workflow_naming_its_logs(slurm_runs):
    failed = slurm_runs.failed
    assert failed.rc != 0, failed.output[-3000:]
    trains = [(job, log) for job, (rule, log) in failed.submitted.items() if rule == "train"]
    assert len(trains) == 1, failed.submitted
    job, slurm_log = trains[0]
    error = failed.output[failed.output.index("Error in rule train") :]
    assert f"SLURM-job '{job}' failed" in error, error[:3000]
    # Both the rule's log and SLURM's log of the job are named; SLURM's tells why.
    assert TRAIN_LOG in error and str(slurm_log) in error, error[:3000]
    assert failed.train_log_written
    assert "exceeded memory limit" in slurm_log.read_text()
    record = slurm_runs.records[job]
    assert record["State"] in ("FAILED", "OUT_OF_MEMORY", "CANCELLED"), record
    assert record["ReqMem"] == f"{TOO_LITTLE_MB}M", record  # resources.per_model reached sbatch
    assert "report" not in {rule for rule, _ in failed.submitted.values()}


def test_rerun_continues_where_it_stopped(slurm_runs):
    rerun = slurm_runs.rerun
    assert rerun.rc == 0, rerun.output[-5000:]
    rules = sorted(rule for rule, _ in rerun.submitted.values())
    # Made by the first run (keep-going let independent jobs finish): not made again.
    assert "prepare_dataset" not in rules and "architecture_stats" not in rules, rules
    assert rules.count("train") == 1 and "report" in rules, rules
    html = slurm_runs.workdir / "results/report/default/report.html"
    pdf = slurm_runs.workdir / "results/report/default/report.pdf"
    assert "<html" in html.read_text().lower() and pdf.read_bytes().startswith(b"%PDF")


def test_every_training_job_went_through_slurm(slurm_runs):
    runs = (slurm_runs.failed, slurm_runs.rerun)
    jobs = {job: rule for run in runs for job, (rule, _) in run.submitted.items()}
    train_jobs = [job for job, rule in jobs.items() if rule == "train"]
    assert len(train_jobs) == 2, jobs
    for job in train_jobs:
        record = slurm_runs.records[job]
        assert record["Comment"] == f"rule_train_wildcards_tiny_digits_{MODEL}_seed0", record
        assert record["Account"] == ACCOUNT and record["ReqCPUS"] == "1", record
    assert slurm_runs.records[train_jobs[-1]]["State"] == "COMPLETED"
    assert slurm_runs.records[train_jobs[-1]]["ReqMem"] == "4000M"  # resources.train default
    # Every job of both runs was a SLURM job, and SLURM accounted for each.
    assert set(slurm_runs.records) == set(jobs)
    for run in runs:  # only `rule all` (no command) runs here, as "localrule all"
        assert len(RULE.findall(run.output)) == len(run.submitted), run.output[-3000:]
    training_log = (slurm_runs.workdir / TRAIN_LOG).read_text()
    assert "epoch 2/2" in training_log
