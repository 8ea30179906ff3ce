"""What changed since the previous report, and why: a build's record and two records compared.

A build's record (results/report/<name>/numbers.json) holds every number the report prints (see
`numbers`), and what each run depended on: its run spec (the configuration keys that decide
its result) and fingerprint, the checksum of its metrics.json, its data set's checksum, the
package versions and hardware it trained with; and the checksums of the workflow's code,
notebooks, templates and published numbers at build time.

`compare(old, new, tolerance)` lists the numbers that moved (old, new, difference), the
verdicts that flipped, the runs added or removed, and for each re-trained run why: the
configuration keys, data checksum, versions or hardware that differ, and the code files
that changed. A number whose printed value moved by at most `tolerance` (a fraction of the
old value) counts as unchanged.

The record a build compares with is the last one the workflow accepted: only after Snakemake
has taken a report job as finished does a job of its own (rule keep_report_record) copy its
numbers.json to results/report/<name>/previous/numbers.json, outside the report's outputs
(which Snakemake deletes before the next report job). The render never writes it: a render
that outlives a killed Snakemake leaves outputs Snakemake holds incomplete, and its record is
never compared with; the rebuilt report compares with the last accepted build's.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from mobilenet_repro.analysis.audit import flatten
from mobilenet_repro.files import atomic_path, read_json
from mobilenet_repro.paths import shared_form
from mobilenet_repro.run_model import run_spec
from mobilenet_repro.runs import Run

FORMAT = "mobilenet-repro numbers 1"
# Files of the workflow whose checksums each record keeps, by what they are.
FILE_GROUPS = {
    "code": ("Snakefile", "src/mobilenet_repro/**/*.py", "workflow/**/*.py", "workflow/**/*.smk"),
    "configuration schema": ("src/mobilenet_repro/config.schema.yaml",),
    "notebook": ("notebooks/*.ipynb",),
    "template": ("report/templates/**/*.j2",),
    "claims registry": ("report/claims.yaml",),
    "published numbers": (
        "report/published.yaml",
        "report/published_curves/*",
    ),
}
# What a run's result depends on among those: its numbers move only through these.
RUN_FILE_GROUPS = ("code",)


def sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_checksums(repo: Path | str) -> dict[str, dict]:
    """Path (relative to the checkout) -> {group, sha256} of every file in FILE_GROUPS."""
    repo = Path(repo)
    out = {}
    for group, patterns in FILE_GROUPS.items():
        for pattern in patterns:
            for path in sorted(repo.glob(pattern)):
                rel = path.relative_to(repo).as_posix()
                if path.is_file() and "__pycache__" not in rel:
                    out.setdefault(rel, {"group": group, "sha256": sha256(path)})
    return dict(sorted(out.items()))


def run_records(config: dict, metrics_files, manifest_files) -> dict[str, dict]:
    """Run id -> what the run depended on (see the module docstring)."""
    data = {}
    for path in manifest_files:
        manifest = read_json(path)
        data[Path(path).parent.name] = manifest.get("arrays_sha256")
    records = {}
    for path in metrics_files:
        metrics = read_json(path)
        run = Run.from_path(path)
        records[run.id] = {
            "fingerprint": metrics.get("fingerprint"),
            "spec": run_spec(config, run.experiment, run.dataset, run.model, run.seed, run.backend),
            "metrics": Path(path).as_posix(),
            "metrics_sha256": sha256(path),
            "data_sha256": data.get(run.dataset),
            "versions": metrics.get("versions", {}),
            "hardware": metrics.get("hardware", {}),
        }
    return records


def make_record(numbers: list[dict], runs: dict, files: dict, about: dict) -> dict:
    """A build's record: numbers.json's content."""
    return {"format": FORMAT, **about, "numbers": numbers, "runs": runs, "files": files}


# ----------------------------------------------------------------------------- previous
def load_record(path: Path | str) -> dict:
    """A record written by an earlier build; a clear error when the file is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"compare_with: {path} does not exist; give the path of a numbers.json written by "
            "an earlier report build (results/report/<name>/numbers.json or a copy of it)"
        )
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"compare_with: {path} is not JSON ({exc})") from exc
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(
            f'compare_with: {path} is not a report record (expected "format": "{FORMAT}"); '
            "give a numbers.json written by the report rule"
        )
    return record


def previous_record(compare_with: str | None, previous: Path | str):
    """(record, its path) to compare with: `compare_with` if given, else the previous build's
    kept copy; (None, None) on a first build."""
    path = Path(compare_with) if compare_with else Path(previous)
    if not compare_with and not path.is_file():
        return None, None
    return load_record(path), path.as_posix()


def keep_record(numbers_json: Path | str, previous: Path | str) -> None:
    """Keep an accepted build's record for the next one (rule keep_report_record), outside
    the report's declared outputs; written whole or not at all."""
    with atomic_path(previous) as tmp:
        shutil.copyfile(numbers_json, tmp)


# ----------------------------------------------------------------------------- comparing
def _key(entry: dict) -> tuple:
    # Sources compare without their configuration's folder: a record of another
    # configuration (compare_with), or one written before per-configuration folders, lines
    # up number by number.
    return (entry["label"], shared_form(entry["source"]), entry["field"])


def _by_key(numbers: list[dict]) -> dict[tuple, dict]:
    out = {}
    for entry in numbers:
        out.setdefault(_key(entry), entry)  # a number printed twice is one number
    return out


def _decimals(text: str) -> int:
    number = str(text).split("±")[0]
    return len(number.split(".", 1)[1].rstrip("% ")) if "." in number else 0


def difference(old: dict, new: dict) -> str:
    """new - old of the printed values, at the printed precision ("" when not numbers)."""
    a, b = old.get("number"), new.get("number")
    if a is None or b is None:
        return ""
    digits = max(_decimals(old["value"]), _decimals(new["value"]))
    return f"{b - a:+,.{digits}f}"


def within(old: dict, new: dict, tolerance: float) -> bool:
    """The printed values differ by at most `tolerance` times the old value."""
    a, b = old.get("number"), new.get("number")
    if a is None or b is None or tolerance <= 0:
        return False
    return abs(b - a) <= tolerance * abs(a)


def _dict_changes(old: dict, new: dict, what: str) -> list[str]:
    old, new = flatten(old or {}), flatten(new or {})
    out = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            before = "unset" if key not in old else json.dumps(old[key])
            after = "unset" if key not in new else json.dumps(new[key])
            out.append(f"{what} {key}: {before} → {after}")
    return out


def file_changes(old: dict, new: dict) -> list[dict]:
    """Files of FILE_GROUPS added, removed or changed between two records."""
    out = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if a == b:
            continue
        change = "added" if a is None else "removed" if b is None else "changed"
        out.append({"path": path, "group": (b or a)["group"], "change": change})
    return out


def run_reasons(old: dict, new: dict, files: list[dict]) -> list[str]:
    """Why one run's record differs between two builds, most specific first."""
    reasons = _dict_changes(old.get("spec"), new.get("spec"), "configuration")
    if old.get("data_sha256") != new.get("data_sha256"):
        reasons.append(
            f"data set {new['spec']['dataset']}: checksum "
            f"{str(old.get('data_sha256'))[:12]} → {str(new.get('data_sha256'))[:12]}"
        )
    reasons += _dict_changes(old.get("versions"), new.get("versions"), "version")
    reasons += _dict_changes(old.get("hardware"), new.get("hardware"), "hardware")
    reasons += [
        f"{f['group']} {f['path']} {f['change']}" for f in files if f["group"] in RUN_FILE_GROUPS
    ]
    if not reasons:
        reasons.append(
            "re-trained with the same configuration, data, versions, hardware and code "
            "(forced, or its outputs were deleted); a moved number is run-to-run nondeterminism"
        )
    return reasons


def _short_commit(commit: str) -> str:
    return commit[:12] if all(c in "0123456789abcdef" for c in commit) else commit


def compare(old: dict | None, new: dict, tolerance: float = 0.0, old_path: str | None = None):
    """What the Changes section shows (see the module docstring); `first` when no `old`."""
    if old is None:
        return {"first": True, "tolerance": tolerance}
    before, after = _by_key(old.get("numbers", [])), _by_key(new["numbers"])
    moved, runtimes, flipped = [], [], []
    unchanged = tolerated = 0
    for key, entry in after.items():
        prior = before.get(key)
        if prior is None:
            continue
        if prior["value"] == entry["value"]:
            unchanged += 1
            continue
        row = {
            "section": entry["section"],
            "label": entry["label"],
            "source": entry["source"],
            "field": entry["field"],
            "runs": entry["runs"],
            "old": prior["value"],
            "new": entry["value"],
            "diff": difference(prior, entry),
        }
        if entry["kind"] == "verdict":
            flipped.append(row)
        elif within(prior, entry, tolerance):
            tolerated += 1
        elif entry["kind"] == "runtime":
            runtimes.append(row)
        else:
            moved.append(row)
    files = file_changes(old.get("files", {}), new.get("files", {}))
    old_runs, new_runs = old.get("runs", {}), new["runs"]
    changed_runs = [
        {"run": run_id, "reasons": run_reasons(old_runs[run_id], record, files)}
        for run_id, record in new_runs.items()
        if run_id in old_runs
        and (
            old_runs[run_id].get("metrics_sha256") != record["metrics_sha256"]
            or old_runs[run_id].get("fingerprint") != record["fingerprint"]
        )
    ]
    return {
        "first": False,
        "path": old_path,
        "generated": old.get("generated", "unknown"),
        "commit": _short_commit(old.get("commit", "unknown")),
        "tolerance": tolerance,
        "n_compared": len(set(before) & set(after)),
        "n_unchanged": unchanged,
        "n_within_tolerance": tolerated,
        "moved": moved,
        "runtimes": runtimes,
        "flipped": flipped,
        "numbers_added": sorted(after[k]["label"] for k in set(after) - set(before)),
        "numbers_removed": sorted(before[k]["label"] for k in set(before) - set(after)),
        "runs_added": sorted(set(new_runs) - set(old_runs)),
        "runs_removed": sorted(set(old_runs) - set(new_runs)),
        "changed_runs": changed_runs,
        "files": files,
    }
