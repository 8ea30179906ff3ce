"""Snakemake script: execute a parameterized notebook with papermill.

Parameters are the rule's named inputs and outputs (lists for lists) and its params. The
executed notebook goes to the rule's `log.notebook` first, so a failing cell leaves it there
for debugging; the copy in results/ is made only after every cell succeeded.
"""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))  # conda envs too
from mobilenet_repro.jobs import start_job  # noqa: E402

start_job(snakemake, log=snakemake.log.stderr)

import papermill  # noqa: E402


def plain(value):
    return list(value) if not isinstance(value, str) else value


parameters = {f"in_{k}": plain(v) for k, v in snakemake.input.items() if k != "notebook"}
parameters |= {f"out_{k}": plain(v) for k, v in snakemake.output.items() if k != "notebook"}
parameters["experiment"] = snakemake.wildcards.experiment
parameters |= dict(snakemake.params.items())  # e.g. names: what figures call things

papermill.execute_notebook(
    snakemake.input.notebook,
    snakemake.log.notebook,
    parameters=parameters,
    kernel_name="python3",
    progress_bar=False,
    log_output=True,
    cwd=None,
)
shutil.copyfile(snakemake.log.notebook, snakemake.output.notebook)
