# mobilenet-repro: re-train MobileNet V1/V2 and baselines, analyse, and regenerate the report.
# Experiments are declared in config/config.yaml; see README.md for the commands.
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

# The package in src/ is importable here (and in every script, which adds the same path)
# whether or not it was pip-installed, so conda environments work too.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from mobilenet_repro.config import check_config

min_version("9.0")


# A --configfile on the command line replaces the default run rather than being merged into
# it (config/paper.yaml must not inherit the digits experiments).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# Our own check first: its messages name the key, the value and what is allowed.
check_config(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/architectures.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/accuracy.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        get_final_targets(),
