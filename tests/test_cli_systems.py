"""``mcjax sweep --system NAME``: a second system through the same command, table, figures,
checkpoints and resume; options of another system refused before anything is written."""
import json
import os
import signal

import numpy as np
import pytest

from mcjax import SweepResult, WFSpec
from mcjax.cli import main
from mcjax.core.run import run

WF = ["sweep", "--system", "wright-fisher", "--population", "20", "--alleles", "4",
      "--generations", "40", "--log-every", "10", "--seeds", "3", "--no-progress", "--no-cache"]


@pytest.mark.parametrize("args, expected", [
    (["--arch", "mlp"], "--arch is an option of --system gan, not of --system wright-fisher"),
    (["--width=8"], "--width is an option of --system gan"),
    (["--population", "0"], "--population must be a positive integer, got 0"),
    (["--population", "30", "--demes", "4"], "population=30 is split equally over demes=4"),
    (["--remedy", "mutashun"], "unknown remedy 'mutashun' (did you mean 'mutation'?)"),
    (["--remedy", "mutation:mu=2"], "mu must be a number in [0, 1], got 2.0"),
    (["--remedy", "migration:speed=2"], "remedy 'migration' has no parameter 'speed'"),
    (["--sweep", "demes=2,4"], "--sweep demes: demes is static"),
    (["--sweep", "mu=0.1,0.1"], "values must be distinct"),
    (["--generations", "45"], "log_every=10 does not divide generations=45"),
])
def test_bad_wright_fisher_input_exits_2_before_writing(args, expected, capsys, tmp_path):
    assert main([*WF, *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1  # one line
    assert not (tmp_path / "o").exists()


def test_gan_refuses_wright_fisher_options_and_unknown_systems(capsys, tmp_path):
    assert main(["sweep", "--population", "10", "--out", str(tmp_path / "o")]) == 2
    assert "--population is an option of --system wright-fisher, not of --system gan" in \
        capsys.readouterr().err
    assert main(["sweep", "--system", "wf", "--out", str(tmp_path / "o")]) == 2
    assert "unknown system 'wf'; allowed: gan, wright-fisher" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_systems_and_remedies_listings(capsys):
    assert main(["systems"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gan (the default)") and "\nwright-fisher\n" in out
    assert "remedies: drift, selection, mutation, migration, overdominance, frequency-dependence" in out
    assert "Kimura 1962" in out
    assert main(["remedies", "--system", "wright-fisher"]) == 0
    out = capsys.readouterr().out
    assert "mutation\n" in out and "mu=0.01 (sweepable)" in out and "demes=4 (static)" in out
    assert main(["remedies"]) == 0
    assert "pacgan" in capsys.readouterr().out  # the GAN's list stays the default


def test_sweep_table_show_and_figures(tmp_path, capsys):
    """Deterministic populations give exact cells: no drift, so nothing is lost or fixed."""
    out = tmp_path / "wf"
    assert main([*WF, "--sampling", "deterministic", "--remedy", "drift",
                 "--remedy", "selection:s=1", "--sweep", "p0=0.25,0.5", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    cells = {line.split(" | ")[0].strip(): [c.strip() for c in line.split(" | ")[1:]]
             for line in table.splitlines() if " | " in line}
    assert cells["remedy"] == ["D0 alleles", "D1", "D2", "reverse KL", "H", "fixed",
                               "fixation gen.", "diverged"]
    # p0 = 1/4 with 20 individuals: 5 copies of each allele, uniform, and no drift to change it
    assert cells["drift[p0=0.25]"] == ["4.0 (4.0-4.0) of 4", "4.00 (4.00-4.00)", "4.00 (4.00-4.00)",
                                       "0.00 (0.00-0.00)", "0.750 (0.750-0.750)", "0/3", "never", "0/3"]
    # p0 = 1/2: counts 10, 4, 3, 3; D2 = 1 / sum p^2 = 400 / 134
    assert cells["drift[p0=0.5]"][2] == f"{400 / 134:.2f} ({400 / 134:.2f}-{400 / 134:.2f})"
    result = SweepResult.load(str(out))
    assert result.table() in table
    d2 = result["selection:s=1"].final("D2")[1]  # p0 = 1/2, s = 1: odds 2^40 after 40 generations
    np.testing.assert_allclose(d2, 1.0, atol=1e-5)
    assert main(["show", str(out)]) == 0
    assert capsys.readouterr().out.strip() == result.table()
    assert os.path.getsize(out / "diversity.png") > 0
    assert main(["analyze", str(out)]) == 2  # a GAN-only analysis refuses another system's folder
    assert "holds a wright-fisher sweep" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["remedies"]["drift[p0=0.5]"]["D0"] == [4.0, 4.0, 4.0]
    assert summary["remedies"]["drift[p0=0.5]"]["fixed"] == [False, False, False]


def test_interrupted_sweep_resumes_to_the_uninterrupted_result(tmp_path, capsys):
    spec = WFSpec(remedy=("drift", "mutation:mu=0.05"), seeds=3, population=20, alleles=4,
                  generations=40, log_every=10)
    whole = run(spec, str(tmp_path / "whole"), progress=False, figures=False, cache=False)
    cut = str(tmp_path / "cut")
    from mcjax.core.sweep import Interrupted

    with pytest.raises(Interrupted):  # a SIGINT after the first chunk: stop at its checkpoint
        run(spec, cut, progress=False, figures=False, cache=False,
            on_chunk=lambda report: os.kill(os.getpid(), signal.SIGINT))
    capsys.readouterr()
    assert not os.path.exists(os.path.join(cut, "summary.json"))
    assert main(["sweep", "--resume", cut, "--no-progress", "--no-cache", "--no-figures"]) == 0
    assert "resuming" in capsys.readouterr().err
    resumed = SweepResult.load(cut)
    for a, b in zip(whole.result.groups, resumed.groups):
        assert a.label == b.label and a.config == b.config
        for k in a.history:  # the same programs, the state restored exactly: bitwise
            np.testing.assert_array_equal(a.history[k], b.history[k], err_msg=k)
        np.testing.assert_array_equal(a.samples, b.samples)
    assert resumed.table() == whole.result.table()
