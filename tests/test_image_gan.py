"""The GAN on an image target (issue 16): the DCGAN and the MLPs train on stacked digits, every
remedy either trains there or is refused with a message, and the CLI writes its table and tiles.

Uses ``stacked-digits`` (8x8x3; its classifier trains in about 10 s, once per session).
"""
import json
import os

import jax
import numpy as np
import pytest

from mcjax import Config, apply_remedy, make_hparams, make_train
from mcjax._validation import ConfigError
from mcjax.cli import main
from mcjax.systems.gan.remedies import REMEDIES

TINY = dict(target="stacked-digits", steps=2, log_every=1, batch_size=8, width=4, latent_dim=4,
            eval_samples=32, keep_samples=4)


@pytest.fixture(scope="module", autouse=True)
def classifier_cache(tmp_path_factory):
    old = os.environ.get("MCJAX_CACHE_DIR")
    os.environ["MCJAX_CACHE_DIR"] = str(tmp_path_factory.mktemp("mcjax-cache"))
    yield
    if old is None:
        del os.environ["MCJAX_CACHE_DIR"]
    else:
        os.environ["MCJAX_CACHE_DIR"] = old


def _train(spec, **changes):
    cfg, hp = apply_remedy(spec, Config(**{**TINY, **changes}))
    return jax.jit(make_train(cfg))(make_hparams(**hp), jax.random.key(0))


@pytest.mark.parametrize("spec", ["gan", "pacgan:pack=2", "wgan-gp", "r1", "spectral-norm",
                                  "unrolled:steps=1", "mbstd"])
def test_dcgan_trains_on_stacked_digits(spec):
    state, hist = _train(spec, arch="dcgan")
    assert not bool(state.diverged)
    modes = np.asarray(hist["modes_covered"])
    assert modes.shape == (2,) and np.all((modes >= 1) & (modes <= 32))  # 32 samples: <= 32 modes
    counts = np.asarray(hist["mode_counts"])
    assert counts.shape == (2, 1000) and np.all(counts.sum(axis=1) == 32)  # every sample counted


def test_every_remedy_trains_on_images_or_is_refused():
    refused = {}
    for name in REMEDIES:
        try:
            state, hist = _train(name, width=4, depth=1)
        except ConfigError as e:
            refused[name] = str(e)
            continue
        assert np.all(np.isfinite(np.asarray(hist["reverse_kl"]))), name
    assert refused == {}, refused  # on the MLPs every remedy applies to images


def test_refusals_name_the_value_and_the_way_out():
    with pytest.raises(ConfigError, match="arch='dcgan' needs an image target.*'ring'"):
        Config(arch="dcgan")
    with pytest.raises(ConfigError, match="unknown arch 'resnet'"):
        Config(arch="resnet")
    with pytest.raises(ConfigError, match="log_collapse .* Gaussian-mixture target"):
        Config(**TINY, log_collapse=True)
    with pytest.raises(ConfigError, match="depth and activation apply to arch='mlp' only"):
        Config(**TINY, arch="dcgan", depth=3)


def test_cli_sweep_on_stacked_digits_writes_table_json_and_tiles(tmp_path, capsys):
    out = tmp_path / "sd"
    main(["sweep", "--target", "stacked-digits", "--arch", "dcgan", "--remedy", "gan", "--seeds",
          "2", "--steps", "4", "--log-every", "2", "--batch-size", "8", "--width", "4",
          "--eval-samples", "64", "--no-progress", "--json", "--out", str(out)])
    summary = json.loads(capsys.readouterr().out)
    row = summary["remedies"]["gan"]
    assert summary["target"]["name"] == "stacked-digits" and summary["target"]["n_modes"] == 1000
    assert len(row["modes_covered"]) == 2 and all(1 <= m <= 64 for m in row["modes_covered"])
    with np.load(out / "results.npz") as z:
        samples = z[[k for k in z.files if k.endswith("/samples")][0]]
    assert samples.shape == (1, 2, 64, 8, 8, 3)  # default keep for images: min(64, eval_samples)
    assert np.all(np.abs(samples) <= 1.0)
    assert (out / "samples.png").stat().st_size > 1000


def test_feature_metrics_of_the_final_state_equal_a_direct_computation():
    from mcjax.metrics import frechet_distance, prdc
    from mcjax.systems.gan.engine import make_trainer

    cfg = Config(**TINY, feature_metrics=("frechet", "prdc"))
    trainer = make_trainer(cfg)
    state, _ = jax.jit(trainer.train)(make_hparams(), jax.random.key(1))
    stats, samples = jax.jit(trainer.final_evaluate)(state)
    target = cfg.make_target()
    key = jax.random.fold_in(jax.random.clone(state.eval_key), 0x5EED)
    real_f = target.features(target.sample(key, cfg.eval_samples))
    fake_f = target.features(samples)
    # the same functions on the same arrays, outside the jitted program: float32 reassociation
    np.testing.assert_allclose(stats["frechet"], frechet_distance(real_f, fake_f), rtol=1e-4)
    want = prdc(real_f, fake_f, 5)
    for k in ("precision", "recall", "density", "coverage"):
        np.testing.assert_allclose(stats[k], getattr(want, k), atol=1e-6, err_msg=k)  # counts
    assert "frechet" not in jax.jit(trainer.evaluate)(state)[0]  # never inside the training scan


def test_cli_metrics_are_table_columns_saved_and_shown(tmp_path, capsys):
    from mcjax.core.results import SweepResult

    out = tmp_path / "ring"
    main(["sweep", "--remedy", "gan", "--seeds", "2", "--steps", "4", "--log-every", "2",
          "--width", "4", "--batch-size", "8", "--eval-samples", "50", "--metrics", "frechet,prdc",
          "--no-progress", "--no-figures", "--out", str(out)])
    table = capsys.readouterr().out
    assert "Frechet dist." in table and "coverage" in table
    g = SweepResult.load(str(out)).groups[0]
    assert sorted(g.final_stats) == ["coverage", "density", "frechet", "precision", "recall"]
    assert g.final_stats["frechet"].shape == (1, 2) and np.all(g.final_stats["frechet"] >= 0)
    assert np.all((g.final_stats["coverage"] >= 0) & (g.final_stats["coverage"] <= 1))
    main(["show", str(out), "--format", "csv"])
    assert "precision" in capsys.readouterr().out
    assert main(["sweep", "--metrics", "fid", "--out", str(tmp_path / "bad")]) == 2
    assert "unknown feature metric 'fid'; allowed: frechet, prdc" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()  # refused before anything is written


def test_memory_per_run_counts_the_images_and_the_classifier():
    """The DCGAN's lower estimate holds the kept evaluation images and the classifier's reading,
    and stays under what a run was measured to hold (129 MB: stacked-digits, width 16, 26,000
    evaluation samples, peak RSS of 2 against 10 runs), so it refuses only what cannot fit."""
    cfg = Config(target="stacked-digits", arch="dcgan", width=16, batch_size=64, latent_dim=16,
                 eval_samples=26000)
    per_run = cfg.memory_per_run()
    images = 4 * 26000 * 8 * 8 * 3
    classifier = 4 * 26000 * 3 * (10 + cfg.make_target().feature_width)
    assert images + classifier < per_run < 129e6
    assert cfg.replace(eval_samples=52000).memory_per_run() > per_run + images  # grows with it
    assert cfg.replace(width=32).memory_per_run() > per_run
