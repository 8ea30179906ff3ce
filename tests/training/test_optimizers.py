"""FusedAdam computes Keras's Adam update (to float rounding) and saves like Keras's."""

from __future__ import annotations

import numpy as np
import pytest

CASES = {
    "defaults": {},
    "recipe": {"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.99, "epsilon": 1e-7},
    "large epsilon": {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 0.1},
}


def _train(optimizer, steps=6):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)]
    )
    model.compile(optimizer=optimizer, loss=keras.losses.MeanSquaredError())
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(32, 6)).astype("float32"), rng.normal(size=(32, 3)).astype("float32")
    for _ in range(steps):
        model.train_on_batch(x, y)
    return model


@pytest.mark.parametrize("case", CASES)
def test_fused_update_is_keras_update(case):
    import keras

    from mobilenet_repro.training.optimizers import FusedAdam, make

    fused = make("adam", **CASES[case])
    assert isinstance(fused, FusedAdam)
    got = _train(fused).get_weights()
    want = _train(keras.optimizers.Adam(**CASES[case])).get_weights()
    untrained = _train(keras.optimizers.Adam(), steps=0).get_weights()
    assert any(not np.allclose(w, w0) for w, w0 in zip(got, untrained, strict=True))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_a_model_with_a_fused_optimizer_saves_and_resumes(tmp_path):
    import keras

    from mobilenet_repro.training.checkpoint import load_trusted_model
    from mobilenet_repro.training.optimizers import make

    model = _train(make("adam", learning_rate=0.01), steps=2)
    model.save(tmp_path / "m.keras")
    loaded = load_trusted_model(tmp_path / "m.keras")
    assert type(loaded.optimizer).__name__ == "FusedAdam"
    assert int(loaded.optimizer.iterations) == 2
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
