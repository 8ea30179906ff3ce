"""Claim-by-claim verdicts: every claim of the registry (claims.yaml) judged on this run's outputs.

A verdict is one of VERDICTS, with one sentence of evidence read from the pipeline's output
files. Rules that need no knowledge of the claim come first (in `judge`): a claim nothing in
this configuration runs is `not_testable` with what it would take; the document's own
arithmetic is evaluated; a self-contradiction is recorded as found; printed numbers compared
with a published table are summarised from the architecture stage's verdicts. Every other
claim has a check of its own in `claim_checks` (registered with `check`; this module never
imports its entries, the caller does).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
import yaml

from mobilenet_repro.formatting import as_bool
from mobilenet_repro.paths import CLAIMS, RUNS_DIR

VERDICTS = ("supported", "partly", "not_supported", "not_testable")
VERDICT_WORDS = {
    "supported": "supported",
    "partly": "partly supported",
    "not_supported": "not supported",
    "not_testable": "not testable here",
}
COLUMNS = [
    "id",
    "document",
    "section",
    "kind",
    "quote",
    "statement",
    "verdict",
    "evidence",
    "consistency_only",
    "checked_by",
]

Check = Callable[["Evidence", dict], tuple[str, str]]
NO_CHECK = "no check yet"  # `checked_by` of a claim this configuration could test, unchecked
CHECKS: dict[str, Check] = {}


def check(*claim_ids: str) -> Callable[[Check], Check]:
    """Register a function as the check of the given claims: f(evidence, claim) returns
    (verdict, evidence sentence)."""

    def register(fn: Check) -> Check:
        for claim_id in claim_ids:
            if claim_id in CHECKS:
                raise ValueError(f"claim {claim_id} has two checks: {CHECKS[claim_id]} and {fn}")
            CHECKS[claim_id] = fn
        return fn

    return register


def load_claims(path: Path | str = CLAIMS) -> dict:
    return yaml.safe_load(Path(path).read_text())


@dataclass
class Evidence:
    """The output files a verdict may read, loaded on first use.

    `arch_dir` is the architecture stage's folder; `runs_csv` the runs table (None: no runs);
    `analysis_dir` the folder of the analyses' <experiment>/ folders (None: none); `runs_dir`
    the training runs' folder (paths.RUNS_DIR); `config` the checked configuration, whose
    experiments say which claims its runs can test.
    """

    arch_dir: Path
    config: dict
    runs_csv: Path | None = None
    analysis_dir: Path | None = None
    accuracy_csv: Path | None = None
    runs_dir: Path = Path(RUNS_DIR)
    known_configs: frozenset = frozenset()  # the configuration files the registry names
    _cache: dict = field(default_factory=dict, repr=False)

    def arch(self, key: str) -> pd.DataFrame:
        if key not in self._cache:
            # Printed values stay as printed ("3.50", not 3.5).
            text = {"published_text": str, "ours_text": str, "published": str, "ours": str}
            self._cache[key] = pd.read_csv(Path(self.arch_dir) / f"{key}.csv", dtype=text)
        return self._cache[key]

    @cached_property
    def runs(self) -> pd.DataFrame:
        if self.runs_csv is None or not Path(self.runs_csv).exists():
            from mobilenet_repro.analysis.results import RUNS_COLUMNS

            return pd.DataFrame(columns=[*RUNS_COLUMNS, "arch", "classes", "test_images"])
        return pd.read_csv(self.runs_csv)

    def analysis(self, experiment: str, table: str) -> pd.DataFrame | None:
        if self.analysis_dir is None:
            return None
        path = Path(self.analysis_dir) / experiment / f"{table}.csv"
        return pd.read_csv(path) if path.exists() else None

    def histories(self, experiment: str) -> pd.DataFrame:
        """Every history.csv of an experiment's runs, with the run's folder as `run`."""
        root = Path(self.runs_dir) / experiment
        frames = [
            pd.read_csv(p).assign(run=str(p.parent.relative_to(root)))
            for p in sorted(root.rglob("history.csv"))
        ]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def experiments(self) -> dict:
        return self.config.get("experiments", {})

    def graph(self, arch: str) -> pd.DataFrame:
        graph = self.arch("graph")
        return graph[(graph["model"] == arch) & (graph["head"] == "own")]

    def stat(self, arch: str, alpha: float, resolution: int, classes: int = 1000) -> pd.Series:
        stats = self.arch("stats")
        rows = stats[
            (stats["model"] == arch)
            & (stats["alpha"] == alpha)
            & (stats["resolution"] == resolution)
            & (stats["classes"] == classes)
            & (stats["head"] == "own")
        ]
        if rows.empty:
            raise LookupError(f"stats.csv has no {arch} {alpha} {resolution} px {classes}")
        return rows.iloc[0]


# --------------------------------------------------------------------------- the rules
def config_file(config: dict) -> str:
    """The repository's file of a configuration: config/config.yaml for the default, else
    config/<name>.yaml (which may not exist: a user's or a test's configuration)."""
    name = config.get("name", "default")
    return "config/config.yaml" if name == "default" else f"config/{name}.yaml"


def running_experiments(claim: dict, evidence: Evidence) -> list[str]:
    """The claim's experiments that this configuration runs: those listed for its file; for
    a configuration the registry never names (a user's, a test's), those of any file."""
    mapping = claim.get("experiments") or {}
    own = config_file(evidence.config)
    if own in mapping:
        wanted = set(mapping[own])
    elif own in evidence.known_configs:
        wanted = set()
    else:
        wanted = {e for ids in mapping.values() for e in ids}
    return sorted(wanted & set(evidence.experiments()))


def _needs(claim: dict) -> str:
    configs = ", ".join(claim.get("testable_in") or [])
    need = claim.get("needs") or ""
    if configs and not need:
        need = f"run {configs}"
    return need.rstrip(".") + "." if need else "nothing in the pipeline can test it."


def _arithmetic(expression: str) -> bool:
    """Evaluate the registry's arithmetic: numbers, operators, round/all/abs and tuples only."""
    tree = ast.parse(expression, mode="eval")
    allowed = (
        ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call, ast.Name,
        ast.Load, ast.Constant, ast.Tuple, ast.List, ast.GeneratorExp, ast.comprehension,
        ast.Store, ast.operator, ast.unaryop, ast.cmpop, ast.boolop,
    )  # fmt: skip
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise ValueError(f"arithmetic {expression!r}: {type(node).__name__} not allowed")
    names = {"round": round, "all": all, "abs": abs, "any": any}
    return bool(eval(compile(tree, "<claim>", "eval"), {"__builtins__": {}, **names}))  # noqa: S307


def _published(claim: dict, evidence: Evidence) -> tuple[str, str] | None:
    """Summary of the architecture stage's comparisons with the claim's published tables."""
    items = claim.get("tested_by") or []
    tables = [t for t in (items if isinstance(items, list) else []) if isinstance(t, dict)]
    if not tables:
        return None
    matched, total, off = 0, 0, []
    for table in tables:
        # A column names a quantity of the count comparisons (params matches every
        # parameter convention, trainable_params too); structures have none.
        for key in ("verdicts",) if table.get("column") else ("verdicts", "structures"):
            frame = evidence.arch(key)
            part = frame[frame["table"] == table["published"]]
            if table.get("rows"):
                part = part[part["row"].isin(table["rows"])]
            if table.get("column"):
                part = part[part["quantity"].astype(str).str.contains(table["column"])]
            flags = part["matches"].map(as_bool)
            matched += int(flags.sum())
            total += len(part)
            if key == "verdicts":
                off += [
                    f"{r.row}, {r.column}: printed {r.published_text}, ours {r.ours_text}"
                    for r in part[~flags].itertuples()
                ]
            else:
                off += [f"{r.row}, {r.column}" for r in part[~flags].itertuples()]
    if total == 0:
        return None
    where = " and ".join(sorted({t["published"] for t in tables}))
    text = f"{matched} of {total} printed values match at the printed precision ({where})"
    if off:
        shown = "; ".join(off[:3]) + ("; ..." if len(off) > 3 else "")
        text += f"; differing: {shown}"
    if matched == total:
        return "supported", text + "."
    return ("not_supported" if matched == 0 else "partly"), text + "."


def judge(claim: dict, evidence: Evidence) -> tuple[str, str, str]:
    """(verdict, evidence sentence, what decided it) of one claim."""
    has_experiments = bool(claim.get("experiments"))
    if has_experiments and not running_experiments(claim, evidence):
        return "not_testable", "Not run in this configuration: " + _needs(claim), "rule"
    if not has_experiments and not claim.get("testable_in"):
        return "not_testable", "Not testable with this pipeline: " + _needs(claim), "rule"
    if claim.get("self_contradiction"):
        note = " ".join((claim.get("note") or "").split())
        return "supported", "Recorded as found in the document. " + note, "rule"
    if claim.get("arithmetic"):
        holds = _arithmetic(claim["arithmetic"])
        sentence = (
            f"The document's own arithmetic {'holds' if holds else 'does not hold'} at its "
            f"printed precision: {claim['arithmetic']}."
        )
        return ("supported" if holds else "not_supported"), sentence, "arithmetic"
    if claim["id"] in CHECKS:
        verdict, sentence = CHECKS[claim["id"]](evidence, claim)
        if verdict not in VERDICTS:
            raise ValueError(f"check of {claim['id']} returned {verdict!r}, not one of {VERDICTS}")
        return verdict, sentence, CHECKS[claim["id"]].__name__
    published = _published(claim, evidence)
    if published:
        return (*published, "published tables")
    outputs = ", ".join(
        t if isinstance(t, str) else f"published table {t['published']}"
        for t in (claim.get("tested_by") or [])
    )
    return (
        "not_testable",
        "This configuration runs what would test it, but no automated check reads it yet"
        + (f" (its outputs: {outputs})" if outputs else "")
        + ".",
        NO_CHECK,
    )


def judge_all(registry: dict, evidence: Evidence) -> pd.DataFrame:
    """One row per claim of the registry, in its order."""
    evidence.known_configs = frozenset(
        f
        for claim in registry["claims"]
        for f in [*(claim.get("testable_in") or []), *(claim.get("experiments") or {})]
    )
    rows = []
    for claim in registry["claims"]:
        verdict, sentence, by = judge(claim, evidence)
        rows.append(
            {
                "id": claim["id"],
                "document": claim["document"],
                "section": claim["section"],
                "kind": claim["kind"],
                "quote": " ".join(claim["quote"].split()),
                "statement": claim["statement"],
                "verdict": verdict,
                "evidence": " ".join(sentence.split()),
                "consistency_only": bool(claim.get("consistency_only")),
                "checked_by": by,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
