"""mobilenet-repro: re-train MobileNet V1/V2 and their baselines, and regenerate a paper-style
report in which every reproduced number stands beside the published one.

The package follows the pipeline's stages: `data` (sources, preparation, the two input
paths), `models` (the builders), `training` (one run, its callbacks, checkpoints and Keras
backends), `counting` (parameters and mult-adds without training), `analysis` (results
tables, verdicts against published numbers, backend agreement, seed 002's comparisons, the
determinism audit) and `report` (HTML and PDF), each importing only the stages before it.
Below them all: `runs` (what a run is: its identity, folder and files), `run_model` (a
configuration's runs and their specs), `paths` (every output path, the files shipped with the
package), `jobs` (starting a workflow job) and the small shared modules. On top: `validation`
and `preflight`, the checks the Snakefile runs before any job. The order is tests/test_layout.py's
LAYERS. Importing the package loads nothing.
"""
