"""Snakemake script: every claim of the registry with its verdict -> the configuration's
results/derived/<name>/claims/verdicts.csv."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job

start_job(snakemake)

from mobilenet_repro.analysis import claim_checks  # noqa: F401 - registers the checks
from mobilenet_repro.analysis.claims import Evidence, judge_all, load_claims
from mobilenet_repro.files import write_csv

evidence = Evidence(
    arch_dir=Path(snakemake.params.arch_dir),
    config=snakemake.params.config,
    runs_csv=Path(snakemake.input.runs),
    analysis_dir=Path(snakemake.params.analysis_dir),
)
verdicts = judge_all(load_claims(snakemake.input.claims), evidence)
write_csv(verdicts, snakemake.output.verdicts)
print(f"{len(verdicts)} claims: {verdicts['verdict'].value_counts().to_dict()}", file=sys.stderr)
