"""Remeasuring a finished sweep's final states from its checkpoints (``mcjax.core.remeasure``)."""
import json
import os

import numpy as np
import pytest

from mcjax import RunSpec, run
from mcjax._validation import ConfigError
from mcjax.core.remeasure import remeasure, remeasured_table, save_remeasured

SPEC = RunSpec(target="ring", remedy=("gan", "wgan-gp"), seeds=2, steps=20, batch_size=16, width=8,
               log_every=10, eval_samples=300)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sweep"))
    return out, run(SPEC, out, progress=False, figures=False).result


def test_same_settings_give_the_sweeps_own_final_numbers(finished):
    """Same config: the same state and the same evaluation latents, so exactly the sweep's values."""
    out_dir, result = finished
    again = remeasure(out_dir)
    assert list(again) == ["gan", "wgan-gp"]
    for g in result.groups:
        for name in ("modes_covered", "reverse_kl", "hq_fraction"):
            np.testing.assert_array_equal(again[g.label][name], g.history[name][:, :, -1])


def test_new_measurements_on_the_trained_states(finished, tmp_path):
    out_dir, result = finished
    again = remeasure(out_dir, eval_samples=1000, feature_metrics=("frechet", "prdc"))
    for label, stats in again.items():
        assert stats["frechet"].shape == (1, 2) and np.all(np.isfinite(stats["frechet"]))
        assert np.all((stats["precision"] >= 0) & (stats["precision"] <= 1))
        assert np.all(stats["modes_covered"] <= 8)
    table = remeasured_table(again, ["modes_covered", "frechet", "precision"])
    assert table.splitlines()[0].split("|")[0].strip() == "remedy" and "wgan-gp" in table
    path = save_remeasured(out_dir, again, dict(eval_samples=1000, feature_metrics=("frechet", "prdc")))
    assert os.path.basename(path) == "remeasured-eval_samples=1000-feature_metrics=frechet,prdc.json"
    with open(path) as f:
        saved = json.load(f)
    assert saved["experiments"]["gan"]["frechet"] == again["gan"]["frechet"].tolist()


def test_refusals_name_the_problem(finished, tmp_path):
    out_dir, _ = finished
    with pytest.raises(ConfigError, match="not fields of Config"):
        remeasure(out_dir, eval_samplez=10)
    with pytest.raises(ConfigError, match="steps and log_every must stay"):
        remeasure(out_dir, steps=40)
    with pytest.raises(ConfigError, match="alter the trained state's shapes"):
        remeasure(out_dir, width=16)
    with pytest.raises(ConfigError, match="no sweep.json"):
        remeasure(str(tmp_path))


def test_an_unfinished_sweep_is_refused(tmp_path):
    """A checkpoint that holds fewer chunks than the run has is not a final state."""
    out = str(tmp_path / "s")
    spec = RunSpec(target="ring", remedy=("gan",), seeds=1, steps=20, batch_size=16, width=8,
                   log_every=10, eval_samples=100)
    run(spec, out, progress=False, figures=False)
    from mcjax.core.checkpoint import read_meta

    path = os.path.join(out, "checkpoints", "experiment-000.npz")
    assert read_meta(path)["chunks_done"] == 2
    with np.load(path) as z:
        data = {k: z[k] for k in z.files}
    meta = json.loads(bytes(data["meta"]).decode())
    meta["chunks_done"] = 1
    data["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    data = {k: (v[:, :1] if k.startswith("history/") else v) for k, v in data.items()}
    np.savez(path, **data)
    with pytest.raises(ConfigError, match="holds 1 of 2 chunks"):
        remeasure(out)
