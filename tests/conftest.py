"""Shared fixtures: the repository root and small configurations."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Text that must reach both outputs literally: HTML, Jinja, Typst and LaTeX markup.
NASTY = "<script>alert(1)</script> {{ 7*7 }} #set $x$ *b* _i_ @ref <l> \\ % ^ ~ & {x}"

TINY_CONFIG = {
    "report": {"title": "Tiny test run", "authors": "pytest", "note": "Note: " + NASTY},
    "threads": 1,
    "datasets": {
        "digits": {"source": "sklearn_digits", "max_per_class": 15},
    },
    "models": {
        "v1_025_32": {
            "arch": "mobilenet_v1",
            "alpha": 0.25,
            "resolution": 32,
            "label": "V1 #$*_@<> " + NASTY,
        },
        "cifar_v2_025_32": {"arch": "cifar_mobilenet_v2", "alpha": 0.25, "resolution": 32},
    },
    "recipes": {
        "quick": {
            "optimizer": "adam",
            "learning_rate": 0.002,
            "warmup_epochs": 1,
            "epochs": 2,
            "batch_size": 32,
            "bn_momentum": 0.9,
        }
    },
    "experiments": {
        "tiny": {
            "title": "Tiny experiment " + NASTY,
            "datasets": ["digits"],
            "models": ["v1_025_32", "cifar_v2_025_32"],
            "recipe": "quick",
            "seeds": [0, 1],
        }
    },
}


# What Snakemake needs to run the workflow from a copy of the repository.
WORKFLOW_FILES = ("Snakefile", "workflow", "config", "notebooks", "report", "src", "envs")


def copy_workflow(dest: Path) -> Path:
    """A copy of the workflow's files in `dest` (returned): a run there touches no checkout.

    Tests that run Snakemake work in such a copy, so that they neither depend on what a user
    has run in the checkout (results/, .snakemake/) nor change it (an edited template).
    """
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".build")
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture
def tiny_config():
    return copy.deepcopy(TINY_CONFIG)
