# Claims: every checkable statement of the five source documents (the package's claims.yaml)
# judged on this run's outputs, one verdict each with the check kind that gave it and its values
# (the report words them). Judging is a rule of its own, reading files only, so the report
# renders verdicts and computes none.


rule check_claims:
    input:
        claims=str(paths.CLAIMS),
        arch=[
            get_architecture_file(key)
            for key in ("stats", "layers", "ratios", "verdicts", "structures", "graph")
        ],
        runs=for_config(paths.RUNS_TABLE),
        # Learning-curve claims read the runs' histories.
        histories=get_run_files(paths.RUN_FILES["history"]),
        # The slides' plan is answered from its experiment's tables.
        analysis=get_report_tables(),
        code=get_package_files(
            "analysis/claims.py",
            "analysis/kinds.py",
            "analysis/claim_checks/__init__.py",
            "analysis/claim_checks/structure.py",
            "analysis/claim_checks/costs.py",
            "analysis/claim_checks/numerics.py",
            "analysis/claim_checks/trained.py",
            # How a printed figure is read (its unit), for the printed counts' evidence.
            "counting/published.py",
        ),
    output:
        verdicts=report(
            for_config(paths.CLAIMS_VERDICTS),
            caption="../report/claims.rst",
            category="Claims",
        ),
    log:
        f"logs/claims/{config['name']}.log",
    benchmark:
        f"benchmarks/claims/{config['name']}.tsv"
    conda:
        "../../envs/analysis.yaml"
    params:
        config=config,
        analysis_dir=Path(for_config(paths.ANALYSES_DIR)),
        arch_dir=lambda wildcards, input: paths.enclosing(
            input.arch[0], paths.ARCHITECTURES_DIR
        ),
    script:
        "../scripts/check_claims.py"
