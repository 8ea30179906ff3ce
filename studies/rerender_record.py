"""Rebuild a committed run record's report with the current code, without training.

    .venv/bin/python studies/rerender_record.py RECORD_DIR [--configfile CONFIG] [--cores N]

RECORD_DIR holds the files a finished run left behind (studies/results/cifar10_transfer, ...):
each run's metrics.json, history.csv and lr_schedule.csv (and benchmark.tsv), in
<run id>/, seed<n>/ (one folder per seed) or, for a record of one run, the folder itself. The
configuration is RECORD_DIR/config.yaml unless --configfile names another; it must describe the
very runs recorded (each metrics.json's fingerprint is checked against it), so a configuration
that only adds display keys (labels, `origins`) is fine and one that changes a run is refused.

In a scratch checkout (a clone of this repository at HEAD with the working tree's changes on
top, in a temporary folder, with the `../<folder>` paths the configuration names linked to this
checkout's neighbours), the record's files are put where the train rule would have written them
and Snakemake builds the report with the training rules left out (--allowed-rules): their
outputs are then plain source files, so no weights (model.keras) are needed and nothing trains.
Data preparation, the architecture counts, the notebooks, the verdicts and the report run.
Back into RECORD_DIR go report.html, report.pdf and numbers.json (the record the next rebuild's
"Changes since the previous report" compares with), and every other rebuilt output whose name
the record already holds (verdicts.csv, claims_verdicts.csv, curves.png, learning_curves.png).
"""

from __future__ import annotations

import argparse
import copy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import yaml  # noqa: E402

from mobilenet_repro import paths  # noqa: E402
from mobilenet_repro.analysis import seed002  # noqa: E402
from mobilenet_repro.errors import ConfigError  # noqa: E402
from mobilenet_repro.files import read_json  # noqa: E402
from mobilenet_repro.run_model import (  # noqa: E402
    LATER_RECIPE_DEFAULTS,
    RECIPE_DISPLAY_ONLY,
    expand_runs,
    recipe_with_defaults,
    run_spec,
)
from mobilenet_repro.validation import check_config  # noqa: E402

# Rules that train: left out, their outputs are taken from the record. audit_train is here so
# that a configuration asking for the audit fails on the missing re-trained files instead of
# re-training in the scratch checkout.
TRAINING_RULES = ("train", "extract_features", "audit_train")
# Run files the analyses and the report read. model.keras is read by nothing but the audit.
RUN_FILE_KEYS = tuple(k for k in paths.RUN_FILES if k != "model")
TRAIN_BENCHMARK = "benchmark.tsv"
FEATURES_BENCHMARK = "extract_features_benchmark.tsv"
# Snakemake's benchmark header: a file with no row is skipped by the report
# (report.context.read_benchmarks), so a run whose time was not recorded shows none.
BENCHMARK_HEADER = "\t".join(
    ("s", "h:m:s", "max_rss", "max_vms", "max_uss", "max_pss", "io_in", "io_out")
    + ("mean_load", "cpu_time\n")
)
RECORDS_DIR = "studies/results/"
CONFIG_NAME = ".rerender-config.yaml"  # in the scratch checkout, untracked: not "dirty"
# Outputs always copied back, whether or not the record held them before.
ALWAYS_COPIED = ("report.html", "report.pdf", "numbers.json")
# Recipe keys added to the code after some records trained, at the value that means the run
# did without them. precise_bn_batches is not among run_model.LATER_RECIPE_DEFAULTS: the schema
# turns the recomputation on (10 batches) for configurations that do not name it, so a record
# trained before it existed is described by its configuration only with 0 set explicitly.
OFF_WHEN_ABSENT = {**LATER_RECIPE_DEFAULTS, "precise_bn_batches": 0}
NOT_YET_NOTE = {"from": "chosen", "note": "off: the runs trained before the code had this setting"}


class RecordError(RuntimeError):
    """The record cannot be rebuilt: the message names the file or run at fault."""


def run_folder(record: Path, run, runs: list) -> Path:
    """The folder of `record` holding `run`'s files: <run id>/, seed<n>/ when the seeds name
    the runs apart, the record itself when it holds one run."""
    candidates = [record / run.id]
    if len({r.replicate for r in runs}) == len(runs):
        candidates.append(record / run.replicate)
    if len(runs) == 1:
        candidates.append(record)
    for folder in candidates:
        if (folder / paths.RUN_FILES["metrics"]).exists():
            return folder
    looked = ", ".join(str(f / paths.RUN_FILES["metrics"]) for f in candidates)
    raise RecordError(f"record {record} lacks run {run.id}: none of {looked} exists")


def _differences(metrics: dict, spec: dict) -> list[str]:
    """How the recorded run differs from the run the configuration describes, key by key; a
    recipe key the record lacks counts at the value that means "not done" (OFF_WHEN_ABSENT)."""
    out = []
    for key in ("recipe_name", "seed"):
        recorded = metrics.get(key)
        if recorded not in (None, spec[key]):
            out.append(f"{key}: recorded {recorded!r}, configured {spec[key]!r}")
    if metrics.get("model_config") not in (None, spec["model"]):
        out.append(f"model: recorded {metrics['model_config']}, configured {spec['model']}")
    recorded = metrics.get("recipe", {})
    configured = recipe_with_defaults(spec["recipe"])
    for key in sorted(set(recorded) | set(configured)):
        old = recorded.get(key, OFF_WHEN_ABSENT.get(key, "(absent)"))
        new = configured.get(key, OFF_WHEN_ABSENT.get(key, "(absent)"))
        if old != new:
            out.append(f"recipe.{key}: recorded {old!r}, configured {new!r}")
    return out


def _check_run(metrics_file: Path, run, config: dict) -> None:
    """The recorded run is the one the configuration describes: a configuration that changed
    the recipe would put old numbers under a new recipe. Compared key by key rather than by
    fingerprint, which every recipe key added since the run trained changes."""
    from mobilenet_repro.training.records import fingerprint

    metrics = read_json(metrics_file)
    if metrics.get("run", run.id) != run.id:
        raise RecordError(f"{metrics_file} is run {metrics['run']}, expected {run.id}")
    spec = run_spec(config, run.experiment, run.dataset, run.model, run.seed, run.backend)
    if metrics.get("fingerprint") == fingerprint(spec):
        return
    differences = _differences(metrics, spec)
    if differences:
        raise RecordError(
            f"{metrics_file} is not the run the configuration describes as {run.id}: "
            + "; ".join(differences)
            + ". Pass the configuration the runs trained with (--configfile)."
        )


def as_trained(raw: dict, record: Path) -> tuple[dict, list[str]]:
    """The configuration `raw` with every recipe key its runs' records lack set to the value
    that means "not done": a key added to the code after a run trained was never applied to
    it, whatever default the schema now gives it. Returns the configuration and what it set."""
    config = check_config(copy.deepcopy(raw))
    runs = expand_runs(config)
    notes = []
    for run in runs:
        metrics_file = run_folder(record, run, runs) / paths.RUN_FILES["metrics"]
        recorded = read_json(metrics_file).get("recipe")
        if recorded is None:
            continue
        name = config["experiments"][run.experiment]["recipe"]
        for key, value in config["recipes"][name].items():
            if key in recorded or key in RECIPE_DISPLAY_ONLY:
                continue
            if key not in OFF_WHEN_ABSENT:
                raise RecordError(
                    f"{metrics_file}: the recipe has no {key!r}, and this tool does not know "
                    f"which value of {key} means the run did without it (OFF_WHEN_ABSENT)"
                )
            if value != OFF_WHEN_ABSENT[key]:
                recipe = raw["recipes"][name]
                recipe[key] = OFF_WHEN_ABSENT[key]
                # The report's "Where each setting came from" says why, not "reason not recorded".
                recipe.setdefault("origins", {}).setdefault(key, dict(NOT_YET_NOTE))
                notes.append(
                    f"recipes.{name}.{key}: {OFF_WHEN_ABSENT[key]!r} (the schema's default is "
                    f"{value!r}; its runs trained before the key existed)"
                )
    return raw, sorted(set(notes))


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise RecordError(f"record lacks {path} ({what})")
    return path


def plan_staging(record: Path, config: dict) -> tuple[list[tuple], list[str]]:
    """What goes where in the scratch checkout: (source or None for an empty benchmark,
    destination relative to the checkout), and warnings about what the record lacks."""
    from mobilenet_repro.training.features import cacheable

    runs = expand_runs(config)
    plan, warnings, features = [], [], set()
    for run in runs:
        folder = run_folder(record, run, runs)
        for key in RUN_FILE_KEYS:
            src = _require(folder / paths.RUN_FILES[key], f"run {run.id}'s {key}")
            plan.append((src, run.file(key)))
        _check_run(folder / paths.RUN_FILES["metrics"], run, config)
        bench = folder / TRAIN_BENCHMARK
        if not bench.is_file():
            warnings.append(f"{bench} missing: the report shows no training time for {run.id}")
            bench = None
        plan.append((bench, run.benchmark))
        spec = run_spec(config, run.experiment, run.dataset, run.model, run.seed, run.backend)
        if cacheable(spec):
            features.add((run.dataset, run.model))
    plan += _features_benchmarks(record, sorted(features))
    return plan, warnings


def _features_benchmarks(record: Path, features: list[tuple]) -> list[tuple]:
    """The feature extraction's benchmark, where extract_features would have written it: its
    compute is part of what the runs cost, and only the record knows it."""
    if not features:
        return []
    if len(features) > 1:
        raise RecordError(
            f"record {record}: {len(features)} frozen bases share features "
            f"({features}); one {FEATURES_BENCHMARK} cannot say which is which"
        )
    src = _require(record / FEATURES_BENCHMARK, "the feature extraction's benchmark")
    dataset, model = features[0]
    return [(src, f"benchmarks/features/{dataset}/{model}.tsv")]


def stage(plan: list[tuple], work: Path) -> None:
    for src, dest in plan:
        target = work / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if src is None:
            target.write_text(BENCHMARK_HEADER)
        else:
            shutil.copyfile(src, target)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RecordError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout


def make_scratch(repo: Path, work: Path) -> None:
    """A checkout at HEAD plus the working tree's changes: the report names HEAD's commit and,
    with uncommitted changes to tracked files, says the checkout was dirty, as a build in this
    checkout would."""
    head = _git(repo, "rev-parse", "HEAD").strip()
    # --shared borrows this repository's objects: nothing is written to it, nothing is copied.
    _git(repo, "clone", "--quiet", "--shared", "--no-checkout", str(repo), str(work))
    _git(work, "checkout", "--quiet", "--detach", head)
    changed = _git(repo, "ls-files", "-z", "--modified", "--others", "--exclude-standard")
    # Records are data, staged from this checkout: a record rebuilt and not yet committed
    # must not make the next report say its code had uncommitted changes.
    for name in filter(None, changed.split("\0")):
        if name.startswith(RECORDS_DIR):
            continue
        src, dest = repo / name, work / name
        if src.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
        elif dest.exists() and not src.exists():
            dest.unlink()


def _outside_paths(value) -> set[str]:
    """First folders of the `../<folder>/...` paths in a configuration (data, weights)."""
    if isinstance(value, dict):
        return set().union(*map(_outside_paths, value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*map(_outside_paths, value)) if value else set()
    if isinstance(value, str) and value.startswith("../") and len(value.split("/")) > 2:
        return {value.split("/")[1]}
    return set()


def link_neighbours(repo: Path, work: Path, config: dict) -> None:
    """The scratch checkout sees this checkout's neighbours (../shared) at the same relative
    paths, so the configuration's data paths need no rewriting."""
    for name in sorted(_outside_paths(config)):
        target = (repo.parent / name).resolve()
        if target.exists() and not (work.parent / name).exists():
            (work.parent / name).symlink_to(target)


def allowed_rules(work: Path, configfile: str) -> list[str]:
    """Every rule of the workflow but the training ones."""
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--list-rules", "--configfile", configfile],
        cwd=work,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RecordError(f"snakemake --list-rules failed:\n{done.stderr}")
    rules = done.stdout.split()
    return [rule for rule in rules if rule not in TRAINING_RULES]


def render(work: Path, configfile: str, config: dict, cores: int, compare_with: str | None):
    """Snakemake builds the report with the training rules left out: their outputs (the staged
    record files) are then inputs like any source file, never rebuilt."""
    name = config["name"]
    targets = [paths.for_config(p, name) for p in (paths.REPORT_HTML, paths.REPORT_PDF)]
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--configfile", configfile]
    cmd += ["--allowed-rules", *allowed_rules(work, configfile)]
    if compare_with:
        cmd += ["--config", f"compare_with={compare_with}"]
    print("+", " ".join(cmd[1:]), "--", *targets, flush=True)
    if subprocess.run([*cmd, "--", *targets], cwd=work).returncode != 0:
        raise RecordError(f"the report did not build (Snakemake's log above; scratch: {work})")


def rebuilt_outputs(config: dict) -> dict[str, str]:
    """Record file name -> the output of the workflow it is a copy of."""
    name = config["name"]
    out = {
        "report.html": paths.REPORT_HTML,
        "report.pdf": paths.REPORT_PDF,
        "numbers.json": paths.REPORT_NUMBERS,
        "verdicts.csv": paths.ACCURACY_VERDICTS,
        "claims_verdicts.csv": paths.CLAIMS_VERDICTS,
        "curves.png": f"{paths.ACCURACY_CURVES}.png",
    }
    out = {k: paths.for_config(v, name) for k, v in out.items()}
    # The notebooks' tables and figures by their own names, when one experiment makes them.
    if len(config["experiments"]) == 1:
        analysis = paths.for_config(paths.ANALYSIS_DIR, name).format(
            experiment=next(iter(config["experiments"]))
        )
        figures = [f"{stem}.png" for stem in paths.ANALYSIS_FIGURES.values()]
        # The comparison slides' plan: its three tables and their figures (seed002).
        plan = [*seed002.TABLES.values(), *(f"{name}.png" for name in seed002.ANALYSES)]
        for fname in (paths.ANALYSIS_TABLE, *figures, *plan):
            out[fname] = f"{analysis}/{fname}"
    return out


def copy_back(work: Path, record: Path, config: dict) -> list[str]:
    copied = []
    for fname, output in rebuilt_outputs(config).items():
        dest, src = record / fname, work / output
        if fname not in ALWAYS_COPIED and not dest.exists():
            continue
        if not src.is_file():
            print(f"warning: {dest} not rebuilt: the workflow no longer writes {output}")
            continue
        shutil.copyfile(src, dest)
        copied.append(f"{output} -> {dest} ({dest.stat().st_size:,} bytes)")
    return copied


def stage_previous(record: Path, work: Path) -> str | None:
    """The record's numbers.json (the last rebuild's) at its own path in the scratch checkout,
    for the report's "Changes since the previous report": what the new code moved."""
    previous = record / "numbers.json"
    if not previous.is_file():
        return None
    try:
        name = previous.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(previous.resolve())
    shutil.copyfile(previous, work / name)
    if name in _git(work, "ls-files", "--modified"):
        # An uncommitted rebuild's record: data, not a change to the code the report names.
        _git(work, "update-index", "--assume-unchanged", name)
    return name


def rerender(record: Path, configfile: Path, cores: int, keep: bool) -> list[str]:
    raw, notes = as_trained(yaml.safe_load(configfile.read_text()) or {}, record)
    for note in notes:
        print(f"configuration as the runs trained: {note}")
    config = check_config(copy.deepcopy(raw))
    plan, warnings = plan_staging(record, config)
    for warning in warnings:
        print(f"warning: {warning}")
    scratch = Path(tempfile.mkdtemp(prefix="rerender-"))
    work = scratch / ROOT.name
    try:
        make_scratch(ROOT, work)
        link_neighbours(ROOT, work, config)
        stage(plan, work)
        (work / CONFIG_NAME).write_text(yaml.safe_dump(raw, sort_keys=False))
        # The committed numbers.json, where the scratch checkout also has it: the report's
        # "Changes since the previous report" then names what the new code moved.
        compare_with = stage_previous(record, work)
        render(work, CONFIG_NAME, config, cores, compare_with)
        return copy_back(work, record, config)
    finally:
        if keep:
            print(f"scratch checkout kept: {work}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("record", type=Path, help="the record's folder")
    parser.add_argument("--configfile", type=Path, help="default: RECORD/config.yaml")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the scratch checkout")
    args = parser.parse_args(argv)
    record = args.record.resolve()
    configfile = args.configfile or record / "config.yaml"
    try:
        if not record.is_dir():
            raise RecordError(f"no record folder at {record}")
        _require(configfile, "the configuration the runs trained with; or pass --configfile")
        copied = rerender(record, configfile, args.cores, args.keep)
    except (RecordError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("copied:")
    for line in copied:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
