"""What a run's steps share: its identity, its sizes and length, its learning-rate schedule."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mobilenet_repro.data.numpy_batches import steps_per_epoch
from mobilenet_repro.run_model import recipe_with_defaults
from mobilenet_repro.runs import DEFAULT as DEFAULT_BACKEND
from mobilenet_repro.runs import Run
from mobilenet_repro.training.schedules import make_schedule

DIVERGENCE_FACTOR = 1000  # a loss this many times a uniform guess's (ln classes) = diverged


@dataclass
class RunPlan:
    """A run's identity, sizes and learning-rate schedule, from its spec and its data."""

    spec: dict
    classes: int
    train_images: int
    id: str = field(init=False)
    steps_per_epoch: int = field(init=False)
    period_steps: int = field(init=False)  # optimizer steps between validations
    periods: int = field(init=False)  # validations in the whole run (Keras's "epochs")
    schedule: object = field(init=False)

    def __post_init__(self):
        self.id = Run.from_spec(self.spec).id
        self.steps_per_epoch = steps_per_epoch(self.train_images, self.recipe["batch_size"])
        self.period_steps = self.recipe["validate_every_steps"] or self.steps_per_epoch
        length = self.recipe["steps"] or self.recipe["epochs"] * self.steps_per_epoch
        self.periods = math.ceil(length / self.period_steps)
        self.schedule = make_schedule(self.recipe, self.total_steps, self.steps_per_epoch)

    @property
    def total_steps(self) -> int:
        """The run's length in optimizer steps, early stopping aside."""
        return self.periods * self.period_steps

    @property
    def data_epochs(self) -> int:
        """Passes over the training set that the run's steps need (the last one partial)."""
        return math.ceil(self.total_steps / self.steps_per_epoch)

    def epochs_at(self, step: int) -> int | float:
        """Data epochs completed after `step` steps (whole when validating once per epoch)."""
        if step % self.steps_per_epoch == 0:
            return step // self.steps_per_epoch
        return round(step / self.steps_per_epoch, 4)

    def images_at(self, step: int) -> int:
        """Training images seen after `step` steps (the last batch of an epoch is partial)."""
        full, rest = divmod(step, self.steps_per_epoch)
        return full * self.train_images + min(rest * self.recipe["batch_size"], self.train_images)

    @property
    def precise_bn_batches(self) -> int:
        """Batches of the end-of-training batch-norm pass (training.precise_bn): the recipe's,
        at most the full batches of one pass over the training set (all of it when smaller
        than a batch); 0: none."""
        wanted = self.recipe.get("precise_bn_batches") or 0
        return min(wanted, max(1, self.train_images // self.recipe["batch_size"]))

    @property
    def recipe(self) -> dict:
        return recipe_with_defaults(self.spec["recipe"])

    @property
    def backend(self) -> str:
        return self.spec.get("backend", DEFAULT_BACKEND)

    @property
    def loss_limit(self) -> float:
        # Keras computes the loss from the softmax's logits, so a blown-up run can report huge
        # finite losses instead of NaN; guessing uniformly costs ln(classes).
        return DIVERGENCE_FACTOR * math.log(self.classes)
