"""Training: one run = one model, one data set, one recipe, one seed, on one Keras backend.

`loop.train_run` is the run, step by step; `steps` holds each step (load the data, build and
compile the model, make the input streams, the metrics, write the outputs), `plan` what the
steps share (the run's sizes and length), `schedules` the learning-rate schedule, `callbacks`
what happens after every validation period (history, divergence guard, early stopping with
the best weights, checkpointing), `checkpoint` the resumable state (and the loading of any
model file a run wrote, `load_trusted_model`), `records` what a run records about itself
(fingerprint, hardware, versions, timings), `diagnosis` the failures a finished run's numbers
show (and the chance margin a run must clear to have learned), `optimizers` and `fused_bn`
TensorFlow's fused kernels, and `backends` which framework Keras runs on. This package's own
import loads nothing: `backends` is read by the preflight check, which must not import Keras.
"""
