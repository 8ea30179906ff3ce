# Determinism audit (opt-in): re-train chosen runs (config `audit.runs`, default the first run
# of each experiment) with the same training entry point and run spec into a scratch folder,
# and compare their metrics.json and history.csv with the originals, field by field:
#   snakemake --cores all audit                              # results/audit/audit.csv only
#   snakemake --cores all --config 'audit={enabled: true}'   # and the report shows it
# Nothing else depends on it unless audit.enabled is set, so no build is forced to re-train.
from mobilenet_repro.audit import AUDIT_RUN_DIR, AUDIT_TABLE, audit_runs

AUDIT_RUNS = audit_runs(config, RUNS)


def get_audit_threads(wildcards):
    """The original's threads unless audit.threads says otherwise (a perturbed audit)."""
    return config["audit"]["threads"] or get_train_threads(wildcards)


def get_audit_pairs(kind):
    """metrics.json or history.csv of each audited run: the originals, then the re-trained."""
    return [run.file(kind) for run in AUDIT_RUNS] + [
        f"{AUDIT_RUN_DIR}/{run.id}/{runs.FILES[kind]}" for run in AUDIT_RUNS
    ]


def get_audit_report_input():
    return [AUDIT_TABLE] if config["audit"]["enabled"] else []


rule audit_train:
    input:
        data="resources/datasets/{dataset}.npz",
    output:
        **{
            name: f"{AUDIT_RUN_DIR}/{runs.RUN_PATH}/{fname}"
            for name, fname in runs.FILES.items()
        },
    log:
        f"logs/audit/{runs.RUN_PATH}.log",
    benchmark:
        f"benchmarks/audit/{runs.RUN_PATH}.tsv"
    conda:
        "../../envs/tensorflow.yaml"
    threads: get_audit_threads
    resources:
        **get_train_resources(),
    params:
        spec=get_run_spec,
        checkpoint_dir=f"resources/audit_checkpoints/{runs.RUN_PATH}",
    script:
        "../scripts/train.py"


rule audit_compare:
    input:
        metrics=get_audit_pairs("metrics"),
        histories=get_audit_pairs("history"),
    output:
        table=report(
            AUDIT_TABLE,
            caption="../report/audit.rst",
            category="Reproducibility",
        ),
    log:
        "logs/audit/audit.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        runs=[run.id for run in AUDIT_RUNS],
    script:
        "../scripts/audit.py"


rule audit:
    input:
        rules.audit_compare.output.table,
