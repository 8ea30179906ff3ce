"""Model builders: MobileNet V1, MobileNetV2, the CIFAR-10 MobileNetV2 of seed 000, baselines.

One builder per architecture with the `keras.applications` signature (`input_shape, alpha,
include_top, weights, classes, ...`), arguments checked first: `mobilenets` and `baselines`,
sharing `common`. They are written out rather than imported so the report can show, and the
mult-adds counter can walk, exactly what is trained. `specs` holds what the configuration
needs to know about each architecture without importing Keras; `catalog` joins those facts to
the builders (`ARCHITECTURES`) and builds a ready-to-train classifier (`build_classifier`).
This package's own import loads nothing, so `specs` stays free of Keras.
"""
