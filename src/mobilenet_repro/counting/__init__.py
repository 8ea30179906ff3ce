"""The papers' architecture tables, reproduced without training.

For a grid of configurations (the width and resolution multipliers of the MobileNet V1
paper, MobileNetV2, the baselines and the CIFAR MobileNetV2 of seed 000, each at 1,000
classes and at the configured data sets' class counts) and for every configured model, the
stage builds the Keras model and counts, from its layer shapes (`counting`):

- parameters under each convention a published figure may use, and mult-adds;
- a per-layer breakdown;
- the cost of every depthwise + pointwise pair relative to a standard convolution,
  checked against 1/N + 1/D_K^2 (V1 paper, Sec. 3.1; seed documents 001 and 004);
- the seed documents' architecture tables, derived from the built models, cell by cell;
- readings of seed 000's CIFAR MobileNetV2 that might give its stated 1,184,746 parameters.

Modules: `grid` (what is counted, the output files), `measure` (building and counting),
`published` (report/published.yaml and the verdicts), `structures` (architecture tables),
`cifar_readings` (seed 000's parameter count), `stage` (the workflow's entry point) and
`figure`. The report reads the files back in `mobilenet_repro.report.counting`.
"""
