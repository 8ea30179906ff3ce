"""Two configurations run in turn in one working directory: the second shares a training run
with the first and adds a model, yet rewrites none of the files the first report names as its
sources, and switching back to the first has nothing to do."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
import yaml
from conftest import TINY_CONFIG, copy_workflow
from test_workflow import snakemake

pytestmark = pytest.mark.slow


def configuration(models: list[str], name: str | None = None) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config["recipes"]["quick"].update(epochs=1, warmup_epochs=0)
    config["experiments"]["tiny"].update(models=models, seeds=[0], analyses=[])
    if name:
        config["name"] = name
    return config


def sources(workdir, record: dict) -> dict[str, tuple[str, int]]:
    """Every file a report's record names (its numbers' sources, its runs' metrics), with its
    digest and modification time."""
    names = {n["source"] for n in record["numbers"]} | {
        r["metrics"] for r in record["runs"].values()
    }
    files = [workdir / name for name in names if (workdir / name).is_file()]
    return {
        f.relative_to(workdir).as_posix(): (
            hashlib.sha256(f.read_bytes()).hexdigest(),
            f.stat().st_mtime_ns,
        )
        for f in files
    }


def test_a_second_configuration_leaves_the_first_reports_sources_alone(tmp_path):
    workdir = copy_workflow(tmp_path)
    first, second = workdir / "first.yaml", workdir / "second.yaml"
    first.write_text(yaml.safe_dump(configuration(["v1_025_32"])))
    second.write_text(yaml.safe_dump(configuration(["v1_025_32", "cifar_v2_025_32"], "second")))

    snakemake(workdir, "--cores", "2", config=first)
    record = json.loads((workdir / "results/report/default/numbers.json").read_text())
    before = sources(workdir, record)
    derived = [path for path in before if path.startswith("results/derived/default/")]
    assert {p.split("/")[3] for p in derived} >= {"summary", "analysis", "architectures"}

    log = snakemake(workdir, "--cores", "2", config=second)
    out = log.stdout + log.stderr
    # The shared run is reused, the added model trained; the second report is its own.
    assert out.count("rule train:") == 1 and "cifar_v2_025_32" in out
    other = json.loads((workdir / "results/report/second/numbers.json").read_text())
    assert set(other["runs"]) == {
        "tiny/digits/v1_025_32/seed0",
        "tiny/digits/cifar_v2_025_32/seed0",
    }
    assert any(n["source"].startswith("results/derived/second/") for n in other["numbers"])

    assert sources(workdir, record) == before  # not one byte, not one rewrite
    back = snakemake(workdir, "--dry-run", config=first)
    assert "Nothing to be done" in back.stdout + back.stderr
