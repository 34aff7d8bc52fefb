"""The GAN retrained on its own samples (issue 19): the empirical target, the lineages' data flow
(``mcjax.systems.gan.recursive``) and ``experiments/gan_recursive.py --smoke``."""
import importlib.util
import os
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcjax import ConfigError
from mcjax.metrics import mode_stats
from mcjax.systems.gan.config import Config, make_hparams
from mcjax.systems.gan.recursive import generation_step, retrain_on_own_samples
from mcjax.targets import ring
from mcjax.targets import EmpiricalTarget, empirical

TINY = Config(steps=6, log_every=3, width=8, depth=1, latent_dim=4, batch_size=16, eval_samples=64,
              keep_samples=16)
FAR = np.array([[10.0, 10.0], [-10.0, 5.0], [3.0, -12.0], [7.0, 7.0], [0.5, 9.0]], np.float32)


def _rows_in(x, data):
    """Index of each row of ``x`` in ``data``, -1 when it is none of them."""
    hit = np.all(np.isclose(np.asarray(x)[:, None], np.asarray(data)[None]), axis=-1)
    return np.where(hit.any(1), hit.argmax(1), -1)


def test_empirical_samples_only_its_first_size_rows_uniformly():
    t = empirical(FAR, ring(), size=3)
    idx = _rows_in(t.sample(jax.random.key(0), 6000), FAR)
    assert set(idx.tolist()) == {0, 1, 2}  # never row 3 or 4, never anything else
    counts = np.bincount(idx, minlength=3)
    assert np.all(np.abs(counts - 2000) < 5 * np.sqrt(6000 * (1 / 3) * (2 / 3)))
    assert t.n_modes == 8 and t.hq_threshold == 3.0 and t.event_shape == (2,)
    np.testing.assert_array_equal(t.means, ring().means)  # mode metrics see the true ring


def test_alpha_share_comes_from_the_true_target_in_proportion():
    n, alpha = 20000, 0.3
    t = empirical(FAR, ring(), alpha=alpha)
    x = t.sample(jax.random.key(1), n)
    fresh = _rows_in(x, FAR) < 0
    share = fresh.mean()
    assert abs(share - alpha) < 5 * np.sqrt(alpha * (1 - alpha) / n)
    _, score = ring().assign(x[fresh])
    assert bool(jnp.all(score < 6.0))  # every non-data point is a ring draw (P(r > 6 std) = e^-18)
    hist = np.asarray(mode_stats(x[fresh], ring()).mode_counts)
    assert np.all(np.abs(hist - fresh.sum() / 8) < 5 * np.sqrt(fresh.sum() / 8))


def test_alpha_one_is_exactly_the_true_target():
    n = 16000
    x = empirical(FAR, ring(), alpha=1.0).sample(jax.random.key(2), n)
    assert (_rows_in(x, FAR) < 0).all()
    s = mode_stats(x, ring())
    hq = 1 - np.exp(-4.5)  # P(|z| < 3) for a 2-D standard normal
    assert abs(float(s.hq_fraction) - hq) < 5 * np.sqrt(hq * (1 - hq) / n)
    counts = np.asarray(s.mode_counts)  # multinomial(n hq, 1/8): within 5 SD of n hq/8 each
    assert np.all(np.abs(counts - n * hq / 8) < 5 * np.sqrt(n * hq / 8 * 7 / 8))
    assert float(s.reverse_kl) < 0.005


def test_empirical_rejects_bad_inputs():
    with pytest.raises(ConfigError, match="alpha"):
        empirical(FAR, ring(), alpha=1.5)
    with pytest.raises(ConfigError, match="size"):
        empirical(FAR, ring(), size=6)
    with pytest.raises(ConfigError, match="event shape"):
        empirical(np.zeros((4, 3), np.float32), ring())


@pytest.fixture(scope="module")
def vstep():
    return jax.jit(jax.vmap(generation_step(TINY, make_hparams(), ring(), 32)))


def test_lineages_are_independent_and_alpha_one_ignores_the_data(vstep):
    a, b = jnp.asarray(np.resize(FAR, (32, 2))), jnp.zeros((32, 2))
    keys = jax.vmap(jax.random.key)(jnp.arange(2))
    sizes, alphas = jnp.array([32, 32]), jnp.array([0.0, 0.0])
    _, out_ab = vstep(jnp.stack([a, b]), sizes, alphas, jax.random.clone(keys))
    _, out_ac = vstep(jnp.stack([a, b + 5.0]), sizes, alphas, jax.random.clone(keys))
    np.testing.assert_array_equal(out_ab[0], out_ac[0])  # lineage 0 never sees lineage 1's data
    assert not np.allclose(out_ab[1], out_ac[1])  # lineage 1 does
    ones = jnp.ones(2)
    _, x1 = vstep(jnp.stack([a, b]), sizes, ones, jax.random.clone(keys))
    _, x2 = vstep(jnp.stack([b, a]), sizes, ones, jax.random.clone(keys))
    np.testing.assert_array_equal(x1, x2)  # alpha = 1: the data are never read


def test_generation_one_trains_on_its_own_lineages_generator(vstep):
    # 2 lineages, one setting: every program here has vstep's batch of 2 (compiled once)
    res = retrain_on_own_samples(TINY, make_hparams(), 1, 2, [32], [0.0], seed=7)
    base = jax.random.key(7)
    keys0 = jax.vmap(lambda i: jax.random.fold_in(jax.random.fold_in(base, i), 0))(jnp.arange(2))
    keys1 = jax.vmap(lambda i: jax.random.fold_in(jax.random.fold_in(base, i), 1))(jnp.arange(2))
    sizes = jnp.full(2, 32)
    _, gen0 = vstep(jnp.zeros((2, 32, 2)), sizes, jnp.ones(2), keys0)
    _, gen1 = vstep(gen0, sizes, jnp.zeros(2), jax.random.clone(keys1))
    np.testing.assert_allclose(res.last_data[0], gen1, atol=1e-5)
    _, swapped = vstep(gen0[::-1], sizes, jnp.zeros(2), jax.random.clone(keys1))  # each lineage fed the other's data
    assert np.abs(res.last_data[0] - np.asarray(swapped)).max() > 1e-4
    assert res.stats["modes_covered"].shape == (2, 1, 2)


def test_retrain_rejects_mismatched_settings():
    with pytest.raises(ConfigError, match="one alpha per sample size"):
        retrain_on_own_samples(TINY, make_hparams(), 1, 2, [10, 20], [0.0])
    with pytest.raises(ConfigError, match="alpha"):
        retrain_on_own_samples(TINY, make_hparams(), 1, 2, [10], [2.0])


def _script():
    path = os.path.join(os.path.dirname(__file__), "..", "experiments", "gan_recursive.py")
    spec = importlib.util.spec_from_file_location("gan_recursive", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_smoke_script_prints_its_table(tmp_path, capsys):
    out = _script().main(["--smoke", "--out", str(tmp_path), "--no-figures"])
    printed = capsys.readouterr().out
    assert "| alpha = 0, M = 20 | " in printed and "| alpha = 0.2, M = 20 | " in printed
    rows = [r for r in printed.splitlines() if r.startswith("| alpha")][:4]
    cells = [re.findall(r"(\d+\.\d+) \+- (\d+\.\d+)", r) for r in rows]
    assert all(len(c) == 3 for c in cells)  # generations 0, 1, 2
    modes = out["stats"]["modes_covered"]  # [3, 4, 2]
    assert modes.shape == (3, 4, 2) and np.all((modes >= 0) & (modes <= 8))
    assert len({c[0] for c in cells}) == 1  # generation 0 shared by every setting (paired)
    for s, c in enumerate(cells):  # the printed means are the measured ones
        assert [float(m) for m, _ in c] == pytest.approx(modes[:, s].mean(-1), abs=0.006)
    kl = out["stats"]["reverse_kl"]
    assert np.all((kl >= 0) & (kl <= np.log(8) + 1e-5))
    assert open(tmp_path / "gan_recursive.md").read().strip() == out["table"]


def test_script_bad_input_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        _script().main(["--smoke", "--lineages", "1", "--out", "/tmp/unused_gan_recursive"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--lineages must be >= 2" in err[0]
