"""The package installed from a wheel (not editable) works outside the checkout.

The wheel is built from a copy of the project's packaging files, so the checkout gets no
build/ or egg-info, and unpacked into a folder, which is what installing a pure-Python wheel
does. From a directory outside the checkout, the unpacked package (first on the path) must
find its schema as package data, and render with the report sources it is given (the
checkout's report/ folder: templates, claims, published numbers, which the rules declare).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

CHECK = """
import mobilenet_repro, yaml
from pathlib import Path
from mobilenet_repro.analysis.claims import load_claims
from mobilenet_repro.run_model import load_schema
from mobilenet_repro.report.render import environments
assert mobilenet_repro.__file__.startswith(sys.argv[1]), mobilenet_repro.__file__
assert load_schema()["properties"]["name"]["default"] == "default"
sources = Path(sys.argv[2])
assert "trained" in yaml.safe_load((sources / "published.yaml").read_text())
assert load_claims(sources / "claims.yaml")["claims"]
html, typ = environments(sources / "templates")
html.get_template("report.html.j2"), typ.get_template("report.typ.j2")
print("ok")
"""


def test_installed_package_finds_its_files_outside_the_checkout(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, project / name)
    shutil.copytree(ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path / "dist"), str(project)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("mobilenet_repro-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", "import sys\n" + CHECK, str(site), str(ROOT / "report")],
        cwd=outside, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"
