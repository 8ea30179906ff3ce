"""The conda environments in envs/ (for `snakemake --sdm conda`) agree with constraints.txt.

Conda's channels are unreachable here, so the environments cannot be built in CI; what can be
checked is that they pin exactly the versions the pip/venv setup installs and tests, and that
every rule names an environment that exists.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

ENVS = sorted((ROOT / "envs").glob("*.yaml"))


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[normalize(name)] = version.strip()
    return pins


def pip_pins(env_file: Path) -> dict[str, str]:
    env = yaml.safe_load(env_file.read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for spec in dep.get("pip", []):
                name, sep, version = spec.partition("==")
                assert sep, f"{env_file.name}: {spec!r} is not pinned with =="
                pins[normalize(name)] = version
    return pins


def test_there_are_environments():
    assert {p.name for p in ENVS} >= {"tensorflow.yaml", "analysis.yaml"}


@pytest.mark.parametrize("env_file", ENVS, ids=lambda p: p.name)
def test_environment_pins_equal_the_constraints(env_file):
    pins, wanted = constraints(), pip_pins(env_file)
    assert wanted, f"{env_file.name} pins nothing"
    wrong = {
        name: (version, pins.get(name, "absent"))
        for name, version in wanted.items()
        if pins.get(name) != version
    }
    assert not wrong, f"{env_file.name}: (env pin, constraints.txt pin) differ: {wrong}"


def test_training_environment_has_every_runtime_dependency():
    """What the package needs at run time (pyproject dependencies) minus the drivers."""
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11+")

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    drivers = {"snakemake", "papermill", "ipykernel", "nbformat", "typst", "tensorflow"}
    needed = {
        normalize(re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0]) for dep in project["dependencies"]
    } - drivers
    have = set(pip_pins(ROOT / "envs/tensorflow.yaml"))
    assert needed <= have, f"missing from envs/tensorflow.yaml: {sorted(needed - have)}"


def test_every_rule_environment_exists():
    checked = 0
    for smk in (ROOT / "workflow/rules").glob("*.smk"):
        text = smk.read_text()
        refs = re.findall(r'conda:\s*\n\s*"([^"]+)"', text)
        # Every `conda:` directive must be read; one the pattern misses fails here.
        assert len(refs) == len(re.findall(r"^\s+conda:", text, re.M)), smk.name
        for ref in refs:
            assert (smk.parent / ref).resolve().is_file(), f"{smk.name}: conda env {ref} missing"
        checked += len(refs)
    assert checked, "no rule names a conda environment: the pattern found nothing"
