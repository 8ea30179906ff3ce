"""The report's prose names things as a reader would: by the configuration's labels and
titles, never by ids, file paths, code or backticks (the claims index, an appendix of ids
and quotes, excepted).

Rendered from the default run's outputs (tests/analysis/default_run: the trained tables, and
under report/ the data manifests, the architecture stage's tables and the accuracy verdicts);
the runs' metrics.json are made from its runs.csv.
"""

from __future__ import annotations

import json
import re
import shutil
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

FIXTURE = ROOT / "tests/analysis/default_run"
# Figures are not read for words: an empty image stands for each.
PNG = bytes.fromhex("89504e470d0a1a0a")
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>'

PATH_ROOTS = "src|results|report|config|tests|workflow|notebooks|studies|benchmarks|logs|resources"
FORBIDDEN = {
    "backtick": re.compile(r"`"),
    "Python operator": re.compile(r"==|!=|\blambda\b|\bNone\b"),
    "file path": re.compile(rf"\b(?:{PATH_ROOTS})/[\w./-]+"),
    "file name": re.compile(r"\b[\w-]+\.(?:py|ya?ml|csv|json|ipynb|j2|tsv|npz|keras)\b"),
    "identifier": re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9.]+)+\b"),
    "module path": re.compile(r"\b[a-z]{3,}\.[a-z_]{3,}\b"),
}
# A quotation keeps its words ('learning rate, beta_1 and beta_2', as the document has it).
QUOTED = re.compile(r"(?<=[\s:(])'[^'\n]+'(?=[\s.,;:)])")


def _metrics(runs: pd.DataFrame, folder: Path) -> list[Path]:
    """One metrics.json per run of runs.csv, with what the report reads of it."""
    paths = []
    for r in runs.to_dict("records"):
        path = folder / r["experiment"] / r["dataset"] / r["model"] / f"seed{r['seed']}"
        path.mkdir(parents=True)
        record = {**r, "fingerprint": "f" * 12, "versions": {"keras": "3.5.0"}}
        record["hardware"] = {"cpu": "AMD EPYC", "cpu_count": 2, "threads": 1, "gpus": []}
        record["hardware"]["platform"] = "Linux"
        (path / "metrics.json").write_text(json.dumps(record))
        paths.append(path / "metrics.json")
    return paths


def _figures(folder: Path) -> None:
    for name in (
        "accuracy_vs_params", "accuracy_vs_mult_adds", "learning_curves", "lr_schedule",
        "steps_to_accuracy", "fully_trained", "training_set_size", "madds_vs_params", "curves",
    ):  # fmt: skip
        (folder / f"{name}.png").write_bytes(PNG)
        (folder / f"{name}.svg").write_text(SVG)


def default_run_context(tmp_path: Path) -> dict:
    from mobilenet_repro.report.context import ReportInputs, build_context
    from mobilenet_repro.validation import load_config

    out = tmp_path / "out"
    shutil.copytree(FIXTURE / "analysis", out / "analysis")
    shutil.copytree(FIXTURE / "report/architectures", out / "architectures")
    shutil.copytree(FIXTURE / "report/accuracy", out / "accuracy")
    for folder in (*(out / "analysis").iterdir(), out / "architectures", out / "accuracy"):
        _figures(folder)
    runs = pd.read_csv(FIXTURE / "runs.csv")
    inputs = ReportInputs(
        config=load_config(ROOT / "config/config.yaml"),
        runs_csv=FIXTURE / "runs.csv",
        metrics_files=_metrics(runs, tmp_path / "runs"),
        analysis_dir=out / "analysis",
        manifest_files=sorted((FIXTURE / "report/data").glob("*/manifest.json")),
        published_file=ROOT / "report/published.yaml",
        arch_dir=out / "architectures",
        accuracy_dir=out / "accuracy",
        root=tmp_path,
        repo=ROOT,
    )
    return build_context(inputs)


def main_text(html: str) -> str:
    """The report's words as a reader sees them: no markup, no code listings, no URLs, and
    without the claims index."""
    html = re.sub(r"<(pre|details|style)\b.*?</\1>", " ", html, flags=re.S)
    index = re.search(r"<h2>\s*(?:<[^>]+>)*\s*Claims index.*?(?=<h2>|\Z)", html, flags=re.S)
    if index:
        html = html[: index.start()] + html[index.end() :]
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    return re.sub(r"https?://\S+", " ", text)


def printed_row_names() -> set[str]:
    """The published tables' row names, as their documents print them (Keras's model names in
    the Stanford Dogs transfer report's own table): quoted, not ours to rename."""
    import yaml

    published = yaml.safe_load((ROOT / "report/published.yaml").read_text())
    return {row["label"] for table in published["tables"] for row in table["rows"]}


def offending(text: str, allowed: set[str] = frozenset()) -> dict[str, list[str]]:
    text = QUOTED.sub(" ", text)
    found = {}
    for what, pattern in FORBIDDEN.items():
        hits = sorted({m.group() for m in pattern.finditer(text)} - set(allowed))
        if hits:
            found[what] = hits
    return found


def test_the_patterns_catch_what_they_should():
    text = "recipe `quick` on digits_10 (src/mobilenet_repro/x.py, runs.csv): a == b; keras.layers"
    assert set(offending(text)) == {
        "backtick", "Python operator", "file path", "file name", "identifier", "module path"
    }  # fmt: skip
    assert not offending("0.50 MobileNet-32 on Handwritten digits, 10 per class: 91.7 ± 0.3%.")
    assert not offending("the document: 'learning rate, beta_1 and beta_2' (Adam's settings)")
    assert not offending("mobilenet_1.00_224: 4.25", allowed={"mobilenet_1.00_224"})


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_default_run_report_has_no_identifiers_paths_or_code_in_its_prose(tmp_path):
    from mobilenet_repro.report.render import render_html

    html, _ = render_html(default_run_context(tmp_path))
    text = main_text(html)
    assert "Reproducibility summary" in text and "Datasheets" in text  # the whole report
    found = offending(text, printed_row_names())
    assert not found, "\n".join(
        f"{what}: {hit}: ...{text[max(0, text.find(hit) - 80) : text.find(hit) + 40]}..."
        for what, hits in found.items()
        for hit in hits
    )


def test_a_compared_accuracy_names_our_run_and_the_data_in_words():
    """The CPU-hour configuration's run against chenyaofo's (its committed verdicts): what the
    section prints of a comparison names the run and the data sets, never their ids."""
    import yaml

    from mobilenet_repro.report.accuracy import accuracy_context

    verdicts = ROOT / "studies/results/cifar10_cpu_hour/final/verdicts.csv"
    published = yaml.safe_load((ROOT / "report/published.yaml").read_text())
    names = {"cifar10_jpeg_all": "CIFAR-10 (JPEG copy)", "cifar_mobilenetv2_0.50_32": "0.5 V2"}

    def run_name(run):
        _, dataset, model = run.split("/")
        return f"{names[model]} on {names[dataset]}"

    context = accuracy_context(verdicts, None, published, run_name)
    (row,) = [r for g in context["groups"] for r in g["rows"] if r["compared"]]
    assert row["run_name"] == "0.5 V2 on CIFAR-10 (JPEG copy)"
    assert context["has_curves"]  # chenyaofo publishes the curve: the figure is shown
    shown = [row["run_name"], row["noise_text"], row["budget_text"], row["network_text"]]
    shown += [g["dataset"] for g in context["groups"]]
    assert not offending(" ".join(shown), printed_row_names())
