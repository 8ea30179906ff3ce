"""End to end, the whole loop: build, change one model's learning rate, rebuild; a template
edit; comparing with any earlier record; Snakemake's own report; the determinism audit.

One workflow copy on a two-experiment configuration (one model, one seed, one epoch each),
so that changing one experiment's learning rate re-trains exactly one model's run.
"""

from __future__ import annotations

import copy
import json
import shutil
import zipfile

import pytest
import yaml
from conftest import TINY_CONFIG, copy_workflow
from test_workflow import snakemake

pytestmark = pytest.mark.slow
CHANGED = "a/digits/v1_025_32/seed0"  # the run whose learning rate the test changes
OTHER = "b/digits/cifar_v2_025_32/seed0"


def loop_config(learning_rate=0.002, audit=False) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    recipe = {**config["recipes"]["quick"], "epochs": 1, "warmup_epochs": 0}
    config["recipes"] = {"quick_a": {**recipe, "learning_rate": learning_rate}, "quick_b": recipe}
    one = {"datasets": ["digits"], "seeds": [0]}
    config["experiments"] = {
        "a": {**one, "title": "A", "models": ["v1_025_32"], "recipe": "quick_a"},
        "b": {**one, "title": "B", "models": ["cifar_v2_025_32"], "recipe": "quick_b"},
    }
    config |= {"audit": audit, "audit_runs": [CHANGED]}
    return config


def build(workdir, config=None, *args):
    if config is not None:
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "--cores", "2", *args)
    html = (workdir / "results/report/default/report.html").read_text()
    typ = (workdir / "results/report/default/.build/report.typ").read_text()
    record = json.loads((workdir / "results/report/default/numbers.json").read_text())
    return result.stdout + result.stderr, html, typ, record


def changed_values(old, new) -> set[str]:
    """Labels of the non-runtime numbers whose printed value differs between two records."""
    before = {n["label"]: n["value"] for n in old["numbers"]}
    return {
        n["label"]
        for n in new["numbers"]
        if n["kind"] not in ("runtime", "verdict")
        and before.get(n["label"], n["value"]) != n["value"]
    }


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("loop"))
    return {"dir": workdir, "first": build(workdir, loop_config())}


def test_first_build_records_every_number_with_its_source(loop):
    workdir = loop["dir"]
    _, html, typ, record = loop["first"]
    assert "Nothing to compare with" in html and "Nothing to compare with" in typ
    metrics = json.loads((workdir / f"results/runs/{CHANGED}/metrics.json").read_text())
    label = "a: v1_025_32 on digits: test top-1 (%)"
    shown = [n for n in record["numbers"] if n["label"] == label]
    [top1] = [n for n in shown if n["section"] == "Results › A"]  # also in the abstract if best
    assert top1["value"].startswith(f"{metrics['test_top1'] * 100:.1f}")
    source = "results/derived/default/analysis/a/results_table.csv"
    assert top1["source"] == source
    assert top1["field"].startswith("test_top1_mean")
    assert top1["runs"] == [CHANGED] and top1["fingerprints"] == [metrics["fingerprint"]]
    tooltip = f"a: v1_025_32 on digits: test top-1 (%) | {source}"
    assert f'title="{tooltip}' in html  # the source on hover, in the page itself
    assert {n["kind"] for n in record["numbers"]} >= {"result", "runtime", "count", "verdict"}
    assert all(n["source"] and n["label"] and n["section"] for n in record["numbers"])
    assert set(record["runs"]) == {CHANGED, OTHER}
    assert record["runs"][CHANGED]["spec"]["recipe"]["learning_rate"] == 0.002
    assert "report/templates/content/report.j2" in record["files"]
    kept = workdir / "results/report/default/previous/numbers.json"
    assert json.loads(kept.read_text()) == record  # kept for the next build


def test_a_changed_learning_rate_lists_exactly_that_models_numbers(loop):
    workdir = loop["dir"]
    first = loop["first"][3]
    shutil.copy(workdir / "results/report/default/numbers.json", workdir / "first.json")
    log, html, typ, record = build(workdir, loop_config(learning_rate=0.02))
    assert "rule train:" in log  # the re-training happened in this build, not in the report
    changes = "Changes since the previous report"
    assert changes in html and changes in typ
    section = html[html.index(f">{changes}</h") :]
    moved = changed_values(first, record)
    assert "a: recipe quick_a: learning_rate" in moved
    by_label = {n["label"]: n for n in record["numbers"]}
    for label in moved:  # every moved number is listed, and each is one of that model's
        assert label in section, label
        assert by_label[label]["runs"] == [CHANGED], by_label[label]
    assert "recipe.learning_rate: 0.002 → 0.02" in section
    assert "recipe\\.learning\\_rate\\: 0\\.002 → 0\\.02" in typ
    assert f"<strong>{CHANGED}</strong>" in section and f"<strong>{OTHER}</strong>" not in section
    loop["second"] = record


def test_a_template_edit_lists_no_changed_number(loop):
    workdir = loop["dir"]
    template = workdir / "report/templates/content/report.j2"
    template.write_text(
        template.read_text() + "\n{% call m.p() %}An edited template.{% endcall %}\n"
    )
    log, html, _, record = build(workdir)
    assert "rule train:" not in log and "rule report:" in log
    assert "An edited template." in html
    assert changed_values(loop["second"], record) == set()
    section = html[html.index(">Changes since the previous report</h") :]
    assert ">Numbers that moved</h" not in section and ">Runtimes that changed</h" not in section
    assert "0 moved, 0 verdicts flipped and 0 runtime figures changed" in " ".join(section.split())
    assert "report/templates/content/report.j2 (template, changed)" in section


def test_compare_with_an_earlier_record(loop):
    workdir = loop["dir"]
    log, html, _, _ = build(workdir, None, "--config", f"compare_with={workdir / 'first.json'}")
    assert "rule train:" not in log
    section = html[html.index(">Changes since the previous report</h") :]
    assert (workdir / "first.json").as_posix() in section
    assert "recipe.learning_rate: 0.002 → 0.02" in section
    assert "none: any change of a printed value counts" in section  # the tolerance, printed


def test_snakemakes_own_report(loop):
    workdir = loop["dir"]
    snakemake(workdir, "--report", str(workdir / "report.zip"))
    names = zipfile.ZipFile(workdir / "report.zip").namelist()
    assert any(n.endswith("report.html") for n in names)
    assert any(n.endswith("results_table.csv") for n in names)
    assert any(n.endswith("learning_curves.png") for n in names)


def test_audit_reports_identical_numbers_and_a_perturbed_run_differs(loop, tmp_path):
    workdir = loop["dir"]
    log, html, typ, _ = build(workdir, loop_config(learning_rate=0.02, audit=True))
    assert log.count("rule audit_train:") == 1 and "rule train:" not in log
    assert f'<strong>{CHANGED}</strong>: <span class="ok">identical</span>' in html
    assert "identical" in typ
    # A perturbed re-training (another seed) through the same entry point differs.
    from mobilenet_repro.analysis.audit import compare_run
    from mobilenet_repro.paths import RUN_FILES
    from mobilenet_repro.run_model import run_spec
    from mobilenet_repro.training.loop import train_run
    from mobilenet_repro.validation import check_config

    config = check_config(loop_config(learning_rate=0.02))
    spec = {**run_spec(config, "a", "digits", "v1_025_32", 0), "seed": 1}
    out = {name: str(tmp_path / fname) for name, fname in RUN_FILES.items()}
    train_run(spec, workdir / "resources/datasets/digits.npz", out, tmp_path / "ckpt")
    rows = compare_run(CHANGED, workdir / f"results/runs/{CHANGED}", tmp_path)
    differ = {r["field"] for r in rows if r["kind"] == "result" and not r["identical"]}
    assert "seed" in differ and any(f.startswith("loss@step") for f in differ)
