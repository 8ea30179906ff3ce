# mobilenet-repro: re-train MobileNet V1/V2 and baselines, analyse, and regenerate the report.
# Experiments are declared in config/config.yaml; see README.md for the commands.
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

# The package in src/ is importable here (and in every script, which adds the same path)
# whether or not it was pip-installed, so conda environments work too.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from mobilenet_repro import paths
from mobilenet_repro.preflight import check_backends, check_local_files
from mobilenet_repro.validation import check_config

min_version("9.0")

# Snakemake starts each script job as `<interpreter> <script>` without quoting the
# interpreter's path (snakemake/snakemake#2645): from an install at a path with a space, every
# job would fail. Say so before any job; with --sdm conda the jobs run `python` and work.
if " " in sys.executable and not workflow.deployment_settings.deployment_method:
    raise WorkflowError(
        f"the Python running Snakemake is at a path with a space ({sys.executable}); "
        "Snakemake cannot start script jobs from there (snakemake/snakemake#2645). Install "
        "the environment at a path without spaces, or run with --sdm conda."
    )


# A --configfile on the command line replaces the default run rather than being merged into
# it (config/paper.yaml must not inherit the digits experiments).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# The one check of the configuration, before any job: schema (filling defaults), references
# and run folders; then the local files its data sets and models name. Their messages name
# the key, the value received and what is allowed.
check_config(config, paths.SCHEMA)
check_local_files(config, workdir=".")
# The framework of each backend still to train on (with --sdm conda, the jobs' environments
# provide it instead).
if not workflow.deployment_settings.deployment_method:
    check_backends(config, workdir=".")


# Snakemake's own report (`snakemake --report report.zip`): figures and tables are marked
# with report() in the rules, captions in workflow/report/ (README: which report to use).
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/architectures.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/accuracy.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        get_final_targets(),
