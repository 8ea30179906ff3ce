"""studies/rerender_record.py's staging on a made-up record: each run's files where the train
rule would have written them, a setting the runs predate turned off, and a clear error naming
a missing file. The render itself (minutes of Snakemake) is not run here."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from conftest import load_study

from mobilenet_repro.run_model import run_spec
from mobilenet_repro.training.records import fingerprint
from mobilenet_repro.validation import check_config

CONFIG = {
    "name": "tiny-record",
    "report": {"title": "t", "authors": "a", "note": "n"},
    "datasets": {"digits": {"source": "sklearn_digits"}},
    "models": {"v1": {"arch": "mobilenet_v1", "alpha": 0.25, "resolution": 32}},
    "recipes": {"r": {"optimizer": "adam", "learning_rate": 0.001, "epochs": 1}},
    "experiments": {
        "e": {"datasets": ["digits"], "models": ["v1"], "recipe": "r", "seeds": [0, 1]}
    },
}


def _record(folder, benchmark=True):
    """A record as the runs left it, trained before precise_bn_batches existed."""
    config = check_config(copy.deepcopy(CONFIG))
    old = {**config["recipes"]["r"], "precise_bn_batches": 0}
    old_config = {**config, "recipes": {"r": old}}
    for seed in (0, 1):
        spec = run_spec(old_config, "e", "digits", "v1", seed)
        spec["recipe"].pop("precise_bn_batches")
        run = folder / f"seed{seed}"
        run.mkdir(parents=True)
        metrics = {
            "run": f"e/digits/v1/seed{seed}",
            "seed": seed,
            "recipe_name": "r",
            "recipe": {k: v for k, v in old.items() if k not in ("precise_bn_batches", "origins")},
            "fingerprint": fingerprint(spec),
        }
        (run / "metrics.json").write_text(json.dumps(metrics))
        (run / "history.csv").write_text("epoch,val_accuracy\n1,0.5\n")
        (run / "lr_schedule.csv").write_text("step,learning_rate\n0,0.001\n")
        if benchmark:
            (run / "benchmark.tsv").write_text("s\tmax_rss\n1.0\t10\n")


def test_each_run_is_staged_where_the_train_rule_writes_it(tmp_path):
    rerender = load_study("rerender_record")
    _record(tmp_path / "record", benchmark=False)
    raw, notes = rerender.as_trained(copy.deepcopy(CONFIG), tmp_path / "record")
    assert raw["recipes"]["r"]["precise_bn_batches"] == 0
    assert "precise_bn_batches" in raw["recipes"]["r"]["origins"]
    assert len(notes) == 1
    plan, warnings = rerender.plan_staging(tmp_path / "record", check_config(raw))
    rerender.stage(plan, tmp_path / "work")
    run = tmp_path / "work/results/runs/e/digits/v1/seed1"
    assert sorted(p.name for p in run.iterdir()) == [
        "history.csv",
        "lr_schedule.csv",
        "metrics.json",
    ]
    # No benchmark recorded: an empty one (the report skips it), and a warning saying so.
    assert (tmp_path / "work/benchmarks/train/e/digits/v1/seed0.tsv").read_text().startswith("s\t")
    assert len(warnings) == 2 and "benchmark.tsv" in warnings[0]


def test_a_missing_run_file_is_named(tmp_path, capsys):
    rerender = load_study("rerender_record")
    _record(tmp_path / "record")
    (tmp_path / "record/config.yaml").write_text(yaml.safe_dump(CONFIG))
    (tmp_path / "record/seed1/history.csv").unlink()
    # Before any scratch checkout or Snakemake: the staging plan fails first.
    assert rerender.main([str(tmp_path / "record")]) == 2
    assert "record lacks " in capsys.readouterr().err
    raw, _ = rerender.as_trained(copy.deepcopy(CONFIG), tmp_path / "record")
    with pytest.raises(rerender.RecordError, match=r"seed1/history\.csv \(run e/digits/v1/seed1"):
        rerender.plan_staging(tmp_path / "record", check_config(raw))


def test_a_configuration_of_other_runs_is_refused(tmp_path):
    rerender = load_study("rerender_record")
    _record(tmp_path / "record")
    other = copy.deepcopy(CONFIG)
    other["recipes"]["r"]["learning_rate"] = 0.01
    raw, _ = rerender.as_trained(other, tmp_path / "record")
    with pytest.raises(rerender.RecordError, match="recipe.learning_rate"):
        rerender.plan_staging(tmp_path / "record", check_config(raw))
