"""notebooks/dynamics.ipynb and notebooks/predict_collapse.ipynb run top to bottom at their smoke size (``MCJAX_SMOKE=1``) and show their results.

The notebook is executed by nbclient in a ``python3`` kernel, the ipykernel of the interpreter
running the tests (jupyter_client starts a kernel spec whose command is ``python`` with
``sys.executable``), with the repository on ``PYTHONPATH``.
"""
import os
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "notebooks", "dynamics.ipynb")


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out and "text/plain" in out["data"]:
            parts.append(out["data"]["text/plain"])
    return "".join(parts)


def _images(nb) -> int:
    return sum("image/png" in out.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for out in c.get("outputs", []))


def execute(path):
    """The notebook at ``path`` run top to bottom at smoke size."""
    nb = nbformat.read(path, as_version=4)
    env_before = {k: os.environ.get(k) for k in ("MCJAX_SMOKE", "PYTHONPATH")}
    os.environ["MCJAX_SMOKE"] = "1"  # the kernel inherits this process's environment
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env_before["PYTHONPATH"]) if p)
    try:
        client = nbclient.NotebookClient(
            nb, timeout=600, kernel_name="python3",
            resources={"metadata": {"path": os.path.join(ROOT, "notebooks")}})
        client.execute()
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


@pytest.fixture(scope="module")
def executed():
    return execute(NOTEBOOK)


def execute_clean(name):
    """``(notebook, its printed text)`` of ``notebooks/<name>`` run at smoke size; no cell failed."""
    nb = execute(os.path.join(ROOT, "notebooks", name))
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not [o for o in cell.outputs if o.get("output_type") == "error"], cell.source[:80]
    return nb, "".join(_text(c) for c in nb.cells if c.cell_type == "code")


def test_predict_collapse_notebook_runs_and_shows_the_study():
    nb, text = execute_clean("predict_collapse.ipynb")
    assert "smoke: True" in text
    assert "runs collapsed" in text and "held-out AUC" in text and "best: " in text
    assert _images(nb) == 3  # AUC over time, force field, mode flux


def test_notebook_runs_without_errors(executed):
    for cell in executed.cells:
        if cell.cell_type == "code":
            assert not [o for o in cell.outputs if o.get("output_type") == "error"], cell.source[:80]
    assert "smoke: True" in _text(executed.cells[1])


def test_notebook_shows_dirac_eigenvalues(executed):
    text = "".join(_text(c) for c in executed.cells if c.cell_type == "code")
    no_penalty = re.search(r"gamma=0: .*eigenvalues ([^(]*)\(closed form", text)
    assert no_penalty, text[:500]
    # +-0.5i at the equilibrium without penalty (Mescheder et al. 2018), rotation index 1
    assert re.fullmatch(r"[+-]0\.0000\+0\.5000i, [+-]0\.0000-0\.5000i ", no_penalty.group(1))
    assert re.search(r"gamma=0: .*rotation index 1\.000", text)
    # gamma = 2 >= 2 f'(0): real eigenvalues 1 +- sqrt(3)/2
    assert re.search(r"gamma=2: .*eigenvalues \+0\.1340[+-]0\.0000i, \+1\.8660[+-]0\.0000i", text)


def test_notebook_shows_sweep_and_figures(executed):
    text = "".join(_text(c) for c in executed.cells if c.cell_type == "code")
    assert "modes covered" in text and "r1[weight=0]" in text  # the sweep's table
    assert "rotation_index coll | healthy" in text  # analysis_table of the final states
    assert "critic λ in [" in text and "at α=1 cosine" in text and "largest |λ|" in text
    # dirac eigenvalues, dirac portraits, over training, scatter, 2 spectra, 2 path-angles, GAN eigenvalues
    assert _images(executed) == 9


def test_quickstart_notebook_sweeps_reads_plots_and_defines_a_remedy():
    nb, text = execute_clean("quickstart.ipynb")
    assert "smoke: True" in text
    assert re.search(r"^gan +\| .* of 8", text, re.M) and "pacgan:pack=2" in text
    assert "per seed: [" in text and "metrics.csv" in text
    assert "r1:weight=0.1[lr_d=0.001]" in text and "r1:weight=0.1[lr_d=0.0003]" in text
    assert _images(nb) == 1


def test_studies_notebook_runs_every_study_at_smoke_size():
    """notebooks/studies.ipynb runs each issue-17 study's script at its smoke size and shows what
    it printed and its figures."""
    nb, text = execute_clean("studies.ipynb")
    assert "smoke: True" in text
    assert "hops after burn-in" in text  # study 1: mode cycling
    assert "pull toward the missed line" in text  # study 2: vanishing gradient
    assert "modes per HQ pt" in text and re.search(r"^msgan[^|]*\| 0 ", text, re.M)  # study 3
    assert "stage 2: fresh seeds at the tuned rate" in text  # study 5: optimizers
    assert re.search(r"^alternating +\| 1\.0+ ", text, re.M)  # study 4: alternating GD orbits, rho = 1
    assert "-seed answer" in text  # study 6: the seed-resampling table
    assert _images(nb) >= 10
