"""End to end: the Snakemake workflow on a tiny configuration in a temporary directory.

One real run (data -> training -> papermill notebooks -> report) shared by the tests below,
then dry runs that check which jobs a change schedules.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from html import escape as html_escape
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import NASTY, TINY_CONFIG, assert_same_report, copy_workflow

pytestmark = pytest.mark.slow
DERIVED = "results/derived/default"  # the tiny configuration's derived outputs (no name: default)


def snakemake(workdir: Path, *args, config: Path | None = None, check=True):
    """Snakemake on the copy of the workflow in `workdir` (`copy_workflow`), run there."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(workdir / "Snakefile")]
    cmd += ["--directory", str(workdir), "--configfile", str(config or workdir / "config.yaml")]
    cmd += args
    env = dict(os.environ, PYTHONPATH=str(workdir / "src"))
    result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env, timeout=1500)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )
    return result


def planned_jobs(result) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a dry run."""
    counts = {}
    table = result.stdout + result.stderr
    for line in table.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)\s*$", line.strip())
        if m and m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


@pytest.fixture(scope="module")
def workflow_run(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"))
    (workdir / "config.yaml").write_text(yaml.safe_dump(TINY_CONFIG))
    snakemake(workdir, "--cores", "2")
    return workdir


def test_outputs_exist_for_every_run(workflow_run):
    runs = pd.read_csv(workflow_run / f"{DERIVED}/summary/runs.csv")
    assert list(runs.columns[:12]) == [
        "experiment", "dataset", "model", "alpha", "resolution", "seed", "params",
        "mult_adds", "test_top1", "epochs", "train_seconds", "images_per_second",
    ]  # fmt: skip
    assert len(runs) == 4
    for _, run in runs.iterrows():
        d = workflow_run / f"results/runs/{run.experiment}/{run.dataset}/{run.model}/seed{run.seed}"
        for name in ("metrics.json", "history.csv", "lr_schedule.csv", "model.keras"):
            assert (d / name).stat().st_size > 0, d / name
        log = (
            workflow_run
            / f"logs/train/{run.experiment}/{run.dataset}/{run.model}/seed{run.seed}.log"
        )
        assert "epoch 2/2" in log.read_text()
    assert (workflow_run / f"{DERIVED}/analysis/tiny/results.ipynb").exists()
    assert (workflow_run / "benchmarks/train/tiny/digits/v1_025_32/seed0.tsv").exists()


def test_every_job_runs_the_workflows_own_code(workflow_run):
    """Scripts import the package next to the Snakefile, not an installed copy elsewhere
    (Snakemake's scriptdir is 'rules/../scripts': unresolved, its parents miss src/)."""
    logs = [p for p in (workflow_run / "logs").rglob("*.log") if p.read_text().strip()]
    origins = {
        line.split(" from ", 1)[1]
        for p in logs
        for line in p.read_text().splitlines()
        if line.startswith("mobilenet_repro from ")
    }
    assert origins == {str((workflow_run / "src/mobilenet_repro").resolve())}


def test_report_numbers_are_those_of_the_run_files(workflow_run):
    html = (workflow_run / "results/report/default/report.html").read_text()
    pdf = (workflow_run / "results/report/default/report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    assert "<img" in html and "data:image/png;base64," in html  # self-contained
    for part in ("(a): iterations to the same accuracy", "(b): accuracy when fully trained"):
        assert f"The slides&#39; plan {part}" in html  # the analyses the tiny experiment lists
    assert 'src="http' not in html
    typst_source = (workflow_run / "results/report/default/.build/report.typ").read_text()
    assert_same_report(html, typst_source)  # same headings in the same order, same numbers
    for model in TINY_CONFIG["models"]:
        files = sorted(
            (workflow_run / "results/runs/tiny/digits" / model).glob("seed*/metrics.json")
        )
        metrics = [json.loads(p.read_text()) for p in files]
        acc = [m["test_top1"] * 100 for m in metrics]
        # Under three seeds each value is shown; from three, mean ± std.
        shown = (
            " and ".join(f"{a:.1f}" for a in acc)
            if len(acc) < 3
            else f"{statistics.mean(acc):.1f} ± {statistics.stdev(acc):.1f}"
        )
        assert shown in html, shown
        escaped = shown.replace(".", "\\.")
        assert escaped in typst_source, escaped
        params = f"{metrics[0]['params'] / 1e6:.2f}"
        assert re.search(f'<td><span class="n" [^>]*>{re.escape(params)}</span></td>', html)


def test_text_from_config_appears_literally_in_html_and_pdf(workflow_run):
    from pypdf import PdfReader

    html = (workflow_run / "results/report/default/report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert html_escape(NASTY, quote=False) in html
    assert "{{ 7*7 }}" in html
    reader = PdfReader(workflow_run / "results/report/default/report.pdf")
    text = "".join(page.extract_text() for page in reader.pages)
    squeeze = lambda t: "".join(t.split())  # noqa: E731  (PDF text breaks lines anywhere)
    assert squeeze(NASTY) in squeeze(text)
    assert squeeze("Tiny experiment " + NASTY) in squeeze(text)


def test_every_claim_appears_with_its_verdict_in_html_and_pdf(workflow_run):
    """Each claim of the registry is in both outputs, followed by its verdict; the scorecard
    counts consistency checks on their own line, never with the documents' claims."""
    from pypdf import PdfReader

    from mobilenet_repro.analysis.claims import VERDICT_WORDS, load_claims
    from mobilenet_repro.report.claims import CONSISTENCY_WORDS

    registry = load_claims()
    verdicts = pd.read_csv(workflow_run / f"{DERIVED}/claims/verdicts.csv", keep_default_na=False)
    assert list(verdicts["id"]) == [c["id"] for c in registry["claims"]]
    assert "no_check" not in set(verdicts["check_kind"])  # every testable claim is read
    html = (workflow_run / "results/report/default/report.html").read_text()
    text = re.sub(r"<[^>]+>", "", html)
    reader = PdfReader(workflow_run / "results/report/default/report.pdf")
    squeeze = lambda t: "".join(t.split()).replace("-", "")  # noqa: E731  (line breaks, hyphens)
    pdf = squeeze("".join(page.extract_text() for page in reader.pages))
    for r in verdicts.itertuples():
        # A consistency check is worded as one (consistent, inconsistent), never "reproduced".
        consistency_only = str(r.consistency_only) == "True"
        word = (VERDICT_WORDS | CONSISTENCY_WORDS if consistency_only else VERDICT_WORDS)[r.verdict]
        assert re.search(
            re.escape(r.id) + r" \([^\n]*?\n?[^\n]*?Verdict: " + re.escape(word), text
        ), r.id
        at = pdf.find(squeeze(r.id) + "(")
        assert at >= 0, r.id
        assert pdf.find(squeeze("Verdict: " + word), at) - at < 2000, r.id
    consistency = verdicts["consistency_only"].astype(str) == "True"
    assert consistency.any() and (~consistency).any()
    # Only results count as reproduction outcomes; consistency checks on a line of their own.
    results = int(((verdicts["type"] == "result") & ~consistency).sum())
    shown = re.search(r"Results of the documents: (\d+)", text)
    assert shown and int(shown.group(1)) == results
    shown = re.search(r"Claims checked only for consistency \([^)]*\): (\d+)", text)
    assert shown and int(shown.group(1)) == int(consistency.sum())


def test_the_engine_gives_the_hand_labelled_verdicts(workflow_run):
    """The verdict set (tests/analysis/verdict_set.yaml): claims over the five documents and
    every type, labelled by a careful reader from the documents and the default run's outputs
    before the engine's answers were seen. The engine judges them on the architecture stage's
    outputs (the same in every configuration) and the default run's trained outputs."""
    from conftest import ROOT

    from mobilenet_repro.analysis import claim_checks  # noqa: F401 - registers the checks
    from mobilenet_repro.analysis.claims import VERDICT_WORDS, Evidence, judge_all, load_claims
    from mobilenet_repro.validation import load_config

    fixture = ROOT / "tests/analysis/default_run"
    evidence = Evidence(
        arch_dir=workflow_run / DERIVED / "architectures",
        config=load_config(ROOT / "config/config.yaml"),
        runs_csv=fixture / "runs.csv",
        analysis_dir=fixture / "analysis",
    )
    verdicts = judge_all(load_claims(), evidence).set_index("id")
    labels = yaml.safe_load((ROOT / "tests/analysis/verdict_set.yaml").read_text())
    assert len(labels) >= 30
    assert {entry["type"] for entry in labels} == {
        "result", "design", "erratum", "arithmetic", "opinion"
    }  # fmt: skip
    word = lambda v: VERDICT_WORDS.get(v, v) if v else ""  # noqa: E731
    wrong = []
    for entry in labels:
        row = verdicts.loc[entry["id"]]
        assert row["type"] == entry["type"], entry["id"]
        expected = entry["expected"]
        if isinstance(expected, dict):
            reference = expected["reference"].replace("no reference", "no reference to check")
            got = {"reference": word(row["verdict"]), "fidelity": word(row["fidelity"])}
            want = {"reference": reference, "fidelity": expected.get("fidelity") or ""}
        else:
            got, want = word(row["verdict"]), expected.split(":")[0].strip()
        if got != want:
            wrong.append(f"{entry['id']}: engine {got}, label {want}")
    assert not wrong, "\n".join(wrong)


def render_every_figure(workdir: Path, config: dict) -> dict:
    """Every figure the report of a run embeds, drawn again from the run's output files by
    the functions the rules and notebooks call (the figures themselves, not their PNGs)."""
    import matplotlib

    matplotlib.use("Agg")
    from mobilenet_repro import figures as figures_module
    from mobilenet_repro.analysis import accuracy, accuracy_figures, results, seed002
    from mobilenet_repro.counting.figure import plot_madds_vs_params

    drawn = {}
    saving = figures_module.save_figure

    def keep(name):
        def save(fig, png, svg=None, **kwargs):
            drawn[name] = fig

        return save

    r, derived = workdir / "results", workdir / DERIVED
    figures_module.save_figure = keep("architectures/madds_vs_params")
    try:
        arch = derived / "architectures"
        plot_madds_vs_params(
            pd.read_csv(arch / "stats.csv"), pd.read_csv(arch / "verdicts.csv"), "x.png", "x.svg"
        )
        figures_module.save_figure = keep("accuracy/curves")
        published = yaml.safe_load(Path(accuracy.PUBLISHED).read_text())
        accuracy_figures.plot_curves(
            pd.read_csv(derived / "accuracy/verdicts.csv"), published,
            sorted((r / "runs").rglob("history.csv")), "x.png", "x.svg",
        )  # fmt: skip
    finally:
        figures_module.save_figure = saving
    labels = {k: v.get("label") or k for k, v in config["models"].items()}
    for exp_id, exp in config["experiments"].items():
        runs = r / "runs" / exp_id
        table = pd.read_csv(derived / "analysis" / exp_id / "results_table.csv")
        drawn[f"{exp_id}/accuracy_vs_params"] = results.plot_accuracy_vs(table, "params", "p")
        drawn[f"{exp_id}/accuracy_vs_mult_adds"] = results.plot_accuracy_vs(table, "mult_adds", "m")
        histories = results.history_frame(sorted(runs.rglob("history.csv")))
        drawn[f"{exp_id}/learning_curves"] = results.plot_learning_curves(histories)
        drawn[f"{exp_id}/lr_schedule"] = results.plot_lr_schedule(
            sorted(runs.rglob("lr_schedule.csv"))
        )
        if exp.get("analyses"):
            folder = derived / "analysis" / exp_id
            tables = {n: pd.read_csv(folder / f"{n}.csv") for n in seed002.TABLES}
            largest = histories[
                histories["dataset"] == tables["steps_to_accuracy"]["dataset"].iloc[0]
            ]
            drawn[f"{exp_id}/steps_to_accuracy"] = seed002.plot_steps_to_accuracy(
                tables["steps_to_accuracy"], largest, labels
            )
            drawn[f"{exp_id}/fully_trained"] = seed002.plot_fully_trained(
                tables["fully_trained"], labels
            )
            drawn[f"{exp_id}/training_set_size"] = seed002.plot_training_set_size(
                tables["training_set_size"], labels
            )
    return drawn


def test_no_figure_has_overlapping_text(workflow_run):
    """Every figure of the run is drawn and no two of its texts (titles, labels, tick labels,
    legends, annotations) overlap."""
    from mobilenet_repro.figures import text_overlaps

    drawn = render_every_figure(workflow_run, TINY_CONFIG)
    assert len(drawn) >= 6
    overlapping = {name: text_overlaps(fig) for name, fig in drawn.items()}
    assert not {k: v for k, v in overlapping.items() if v}


def test_no_op_rerun_schedules_nothing(workflow_run):
    result = snakemake(workflow_run, "--dry-run", "--cores", "2")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changing_one_model_reruns_only_that_branch(workflow_run, tmp_path):
    changed = json.loads(json.dumps(TINY_CONFIG))
    changed["models"]["v1_025_32"]["dropout"] = 0.2
    config = tmp_path / "changed.yaml"
    config.write_text(yaml.safe_dump(changed))
    jobs = planned_jobs(snakemake(workflow_run, "--dry-run", "--cores", "2", config=config))
    assert jobs.get("train") == 2  # the two seeds of v1_025_32, not cifar_v2_025_32
    assert "prepare_dataset" not in jobs
    assert jobs.get("report") == 1


def test_editing_a_template_reruns_only_the_report(workflow_run):
    # A real edit: Snakemake ignores a newer mtime when a small file's checksum is unchanged.
    template = workflow_run / "report/templates/report.html.j2"  # the copy's
    before, text = template.stat(), template.read_bytes()
    try:
        template.write_bytes(text + b"{# an edit #}\n")
        jobs = planned_jobs(snakemake(workflow_run, "--dry-run", "--cores", "2"))
    finally:
        template.write_bytes(text)
        os.utime(template, ns=(before.st_atime_ns, before.st_mtime_ns))
    # The report, and its record kept for the next build once Snakemake has taken it as done.
    jobs.pop("all", None)
    assert jobs == {"report": 1, "keep_report_record": 1}


def test_failing_notebook_fails_its_rule_and_keeps_the_notebook(workflow_run):
    """Runs last: it damages one run's metrics, so that the results notebook raises."""
    metrics = workflow_run / "results/runs/tiny/digits/v1_025_32/seed0/metrics.json"
    original, before = metrics.read_text(), metrics.stat()
    try:
        metrics.write_text(original[: len(original) // 2])  # truncated JSON
        # The old mtime keeps the rules upstream of the notebook (the runs table, the accuracy
        # verdicts it marks on its figures) from rerunning and failing first; the notebook's
        # own rule is forced, so it is the one that reads the damaged file.
        os.utime(metrics, ns=(before.st_atime_ns, before.st_mtime_ns))
        target = f"{DERIVED}/analysis/tiny/results_table.csv"
        result = snakemake(
            workflow_run, "--cores", "1", target, "--forcerun", "analyse_results", check=False
        )
        assert result.returncode != 0
        kept = workflow_run / "logs/notebooks/default/tiny/results.ipynb"
        assert "JSONDecodeError" in kept.read_text()  # the executed notebook, with the error
        assert not (workflow_run / f"{DERIVED}/analysis/tiny/results_table.csv").exists()
        assert not (workflow_run / f"{DERIVED}/analysis/tiny/results.ipynb").exists()
    finally:
        metrics.write_text(original)
        os.utime(metrics, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_configfile_replaces_the_default_run(tmp_path):
    """`--configfile config/paper.yaml` must not inherit the digits experiments."""
    workdir = copy_workflow(tmp_path)
    result = snakemake(workdir, "--dry-run", "--cores", "1", config=workdir / "config/paper.yaml")
    out = result.stdout + result.stderr
    assert "results/runs/stanford_dogs/stanford_dogs/" in out
    assert "digits" not in out


def test_an_experiment_under_two_backends_is_compared_in_the_report(tmp_path):
    """`backend: [tensorflow, jax]` end to end: every run under each backend, in its own
    folder, and the report's "Backends" table with each backend's mean +- std over seeds and
    a verdict. On a machine without TensorFlow the experiment runs on JAX alone (the jobs
    that do not train pick JAX then). Switching the command line's backend keeps both."""
    from mobilenet_repro.analysis.agreement import VERDICTS
    from mobilenet_repro.training.backends import installed

    if not installed("jax"):
        pytest.skip("jax is not installed (pip extra `jax`)")
    both = installed("tensorflow")
    backends = ["tensorflow", "jax"] if both else ["jax"]
    workdir = copy_workflow(tmp_path)
    config = json.loads(json.dumps(TINY_CONFIG))
    config["experiments"]["tiny"].update(
        backend=backends, models=["v1_025_32"], seeds=[0, 1], analyses=[]
    )
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(workdir, "--cores", "2")
    run = workdir / "results/runs/tiny/digits/v1_025_32/seed0-jax"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["backend"] == "jax" and "jax" in metrics["versions"]
    runs = pd.read_csv(workdir / f"{DERIVED}/summary/runs.csv")
    assert sorted(runs["backend"]) == sorted(backends * 2)
    html = (workdir / "results/report/default/report.html").read_text()
    jax_top1 = runs.loc[runs["backend"] == "jax", "test_top1"]
    if not both:
        assert f"{100 * jax_top1.mean():.1f} ± {100 * jax_top1.std():.1f}" in html
        return
    assert (workdir / "results/runs/tiny/digits/v1_025_32/seed1").is_dir()  # TensorFlow's
    table = pd.read_csv(workdir / f"{DERIVED}/analysis/tiny/backends.csv")
    assert list(table["backend"]) == backends
    jax_row = table.iloc[1]
    assert jax_row["verdict"] in VERDICTS and jax_row["reference"] == "tensorflow"
    assert jax_row["test_top1_mean"] == pytest.approx(jax_top1.mean())
    assert "Backends: the same runs under tensorflow, jax" in html
    assert f"{100 * jax_top1.mean():.1f} ± {100 * jax_top1.std():.1f}" in html
    assert jax_row["verdict"] in html
    # Either backend alone: its runs are already there, nothing is trained again.
    for backend in backends:
        dry = snakemake(workdir, "-n", "--cores", "2", "--config", f"backend={backend}")
        assert "train" not in planned_jobs(dry)
