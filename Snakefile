# mobilenet-repro: re-train MobileNet V1/V2 and baselines, analyse, and regenerate the report.
# Experiments are declared in config/config.yaml; see README.md for the commands.
import os
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

# Jobs import the project's package from src/ whether or not it was pip-installed
# (conda environments and cluster nodes see the same checkout).
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))

from mobilenet_repro.config import check_config

min_version("9.0")


configfile: "config/config.yaml"


# Our own check first: its messages name the key, the value and what is allowed.
check_config(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        get_final_targets(),
    default_target: True
