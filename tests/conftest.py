"""Shared fixtures: the repository root and small configurations."""

from __future__ import annotations

import copy
import os
import re
import shutil
from pathlib import Path

import pytest

from mobilenet_repro.training.backends import select_for_tools

ROOT = Path(__file__).resolve().parents[1]
SHARED_CIFAR = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Keras in this process: TensorFlow where installed, else JAX or PyTorch (a machine without
# TensorFlow runs the backend-neutral tests; the TensorFlow ones skip or need it).
select_for_tools()

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
            "analyses": ["steps_to_accuracy", "fully_trained", "training_set_size"],
        }
    },
}


# What Snakemake needs to run the workflow from a copy of the repository.
WORKFLOW_FILES = ("Snakefile", "workflow", "config", "notebooks", "src", "envs", "report")


def load_study(name: str):
    """A script of studies/ (not a package) imported as a module, for its tests."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "studies" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


# ----------------------------------------------------------------- the report's two outputs
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
TYPST_CODE_LINE = re.compile(
    r"^\s*(#(set|show|let|v\(|block\(|pagebreak|counter|align\(|table\(|grid\()"
    r"|(columns|align|stroke|gutter): )"
)
# Arguments of Typst calls (not text in a #raw string, such as the configuration's YAML).
TYPST_CODE = re.compile(
    r"(?:(?<=\()|(?<=, ))(columns|gutter|width|size|inset|below|above|align|stroke): [^,\]\[)]*"
    r'|image\("[^"]*"|rgb\("[^"]*"\)|table\.hline\(\)'
)


def html_text(html: str) -> tuple[list[tuple[int, str]], str]:
    """(headings as (level, text), visible text) of a page: what a reader sees."""
    from html import unescape

    body = re.sub(r"<head>.*?</head>", "", html, flags=re.S)
    body = re.sub(r'<nav class="toc">.*?</nav>', "", body, flags=re.S)  # Typst's is compiled
    body = re.sub(r'<div class="html-only">.*?</div>', "", body, flags=re.S)  # not in the PDF
    heads = [
        (int(level) - 1, " ".join(unescape(re.sub(r"<[^>]+>", "", t)).split()))
        for level, t in re.findall(r"<h([2-6])>(.*?)</h\1>", body, flags=re.S)
    ]
    return heads, unescape(re.sub(r"<[^>]+>", " ", body))


def typst_text(source: str) -> tuple[list[tuple[int, str]], str]:
    """(headings as (level, text), text without the Typst code) of a Typst source."""
    unescape = lambda t: re.sub(r"\\(.)", r"\1", t)  # noqa: E731
    heads = [
        (len(eq), " ".join(unescape(t).split()))
        for eq, t in re.findall(r"^(=+) (.*)$", source, flags=re.M)
    ]
    lines = [ln for ln in source.splitlines() if not TYPST_CODE_LINE.match(ln)]
    return heads, unescape(TYPST_CODE.sub(" ", "\n".join(lines)))


def assert_same_report(html: str, typ: str) -> None:
    """Both outputs have the same headings in the same order and the same numbers."""
    html_heads, html_body = html_text(html)
    typ_heads, typ_body = typst_text(typ)
    assert html_heads == typ_heads
    html_numbers, typ_numbers = set(NUMBER.findall(html_body)), set(NUMBER.findall(typ_body))
    assert html_numbers - typ_numbers == set(), "numbers only in the HTML"
    assert typ_numbers - html_numbers == set(), "numbers only in the Typst source"
