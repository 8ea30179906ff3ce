"""mobilenet-repro: re-train MobileNet V1/V2 and their baselines, and regenerate a paper-style
report in which every reproduced number stands beside the published one.

The package follows the pipeline's stages: `data` (sources, preparation, the two input
paths), `models` (the builders), `training` (one run, its callbacks, checkpoints and Keras
backends), `counting` (parameters and mult-adds without training), `analysis` (results
tables, verdicts against published numbers, backend agreement, seed 002's comparisons, the
determinism audit) and `report` (HTML and PDF). `config` checks a configuration and expands it
into runs (`runs`); `paths` spells every output path and finds the files shipped with the
package; `jobs` starts a workflow job. Importing the package loads nothing.
"""
