"""The training engine: reproducibility, seeds, divergence isolation, no recompilation."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import monitoring

from mcjax import Experiment, make_hparams, run_sweep, stack_hparams
from mcjax.systems.gan.engine import make_trainer
from tests.helpers import TINY

_compiles = []
monitoring.register_event_duration_secs_listener(
    lambda name, *a, **k: _compiles.append(name) if name.endswith("backend_compile_duration") else None
)


def n_compiles() -> int:
    return len(_compiles)


@pytest.fixture(scope="module")
def trainer():
    return make_trainer(TINY)


@pytest.fixture(scope="module")
def train_jit(trainer):
    return jax.jit(trainer.train)


def test_same_seed_twice_is_identical(train_jit):
    hp = make_hparams()
    s1, h1 = train_jit(hp, jax.random.key(3))
    s2, h2 = train_jit(hp, jax.random.key(3))
    chex.assert_trees_all_equal((s1.g_params, s1.d_params, h1), (s2.g_params, s2.d_params, h2))


def test_different_seeds_differ(trainer, train_jit):
    hp = make_hparams()
    init = jax.jit(trainer.init)
    a, b = init(hp, jax.random.key(0)), init(hp, jax.random.key(1))
    assert not np.allclose(a.g_params["params"]["out"]["kernel"], b.g_params["params"]["out"]["kernel"])
    assert not np.allclose(a.d_params["params"]["out"]["kernel"], b.d_params["params"]["out"]["kernel"])
    (_, ha), (_, hb) = train_jit(hp, jax.random.key(0)), train_jit(hp, jax.random.key(1))
    assert not np.allclose(ha["d_loss"], hb["d_loss"])
    assert not np.array_equal(ha["mode_counts"], hb["mode_counts"])


def test_vmapped_sweep_run_equals_single_run(train_jit):
    hps = [make_hparams(lr_d=1e-3), make_hparams(lr_d=3e-4)]
    seeds = [5, 9, 11]
    result = run_sweep([Experiment("gan", TINY, stack_hparams(hps), ("a", "b"))], seeds, progress=False)
    g = result["gan"]
    for s, hp in enumerate(hps):
        for n, seed in enumerate(seeds):
            _, hist = train_jit(hp, jax.random.key(seed))
            # vmapped matmuls may sum in another order than single ones: float32 reassociation
            # (~1e-7 relative) amplified over 20 steps stays far below 1e-4.
            np.testing.assert_allclose(g.history["d_loss"][s, n], hist["d_loss"], rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(g.history["g_loss"][s, n], hist["g_loss"], rtol=1e-4, atol=1e-5)
            np.testing.assert_array_equal(g.history["modes_covered"][s, n], hist["modes_covered"])
            np.testing.assert_array_equal(g.log_steps, hist["step"])


def test_chunked_equals_whole(trainer, train_jit):
    hp = make_hparams()
    state, hist = train_jit(hp, jax.random.key(2))
    adv = jax.jit(trainer.advance, static_argnums=2)
    s = jax.jit(trainer.init)(hp, jax.random.key(2))
    s, h1 = adv(hp, s, 1)
    s, h2 = adv(hp, s, 1)
    # the same jitted program body either way; only XLA's fusion across the chunk border differs
    chex.assert_trees_all_close(s.g_params, state.g_params, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.concatenate([h1["d_loss"], h2["d_loss"]]), hist["d_loss"], rtol=1e-5)


def test_changing_hparam_values_does_not_retrace(trainer):
    @jax.jit
    @chex.assert_max_traces(n=1)
    def train(hp, key):
        return trainer.train(hp, key)

    for lr in (1e-3, 2e-4, 5e-3, 1e-2):
        jax.block_until_ready(train(make_hparams(lr_g=lr, lr_d=lr / 2, beta1=0.1), jax.random.key(0)))


def test_sweep_with_new_values_reuses_compiled_program():
    exp = lambda lrs: Experiment("gan", TINY, stack_hparams([make_hparams(lr_d=l) for l in lrs]),
                                 tuple(map(str, lrs)))
    run_sweep([exp([1e-3, 2e-3, 3e-3, 4e-3])], 2, progress=False)
    before = n_compiles()
    r = run_sweep([exp([5e-4, 6e-4, 7e-4, 8e-4])], 2, progress=False)
    assert n_compiles() == before
    assert r["gan"].compile_s < 0.5  # cached programs: no compilation, only a dict lookup


def test_absurd_learning_rate_diverges_alone():
    good = make_hparams()
    bad = make_hparams(lr_g=1e30, lr_d=1e30)
    seeds = [0, 1]
    mixed = run_sweep([Experiment("gan", TINY, stack_hparams([good, bad, good]), ("g1", "bad", "g2"))],
                      seeds, progress=False)["gan"]
    np.testing.assert_array_equal(mixed.diverged, [[False, False], [True, True], [False, False]])
    assert np.all(mixed.diverged_step[1] >= 0) and np.all(mixed.diverged_step[[0, 2]] == -1)
    for k in ("hq_fraction", "reverse_kl", "occupancy_entropy"):
        assert np.all(np.isfinite(mixed.history[k])), k  # metrics of the frozen, finite state
    assert np.all(np.isfinite(mixed.samples))
    for k in ("d_loss", "g_loss"):
        assert np.all(np.isfinite(mixed.history[k][[0, 2]])), k
    alone = run_sweep([Experiment("gan", TINY, stack_hparams([good]))], seeds, progress=False)["gan"]
    # the healthy neighbours equal the same runs trained without the diverging one (float
    # reassociation in a different run count: see test_vmapped_sweep_run_equals_single_run)
    for s in (0, 2):
        np.testing.assert_allclose(mixed.history["d_loss"][s], alone.history["d_loss"][0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["gan", "minimax", "wgan", "wgan-gp", "hinge", "lsgan"])
def test_every_remedy_trains_and_improves_critic(name):
    from mcjax.systems.gan.remedies import apply_remedy

    cfg, hp = apply_remedy(name, TINY.replace(steps=10, log_every=10))
    state, hist = jax.jit(make_trainer(cfg).train)(make_hparams(**hp), jax.random.key(0))
    assert not bool(state.diverged)
    assert np.all(np.isfinite(hist["d_loss"])) and np.all(np.isfinite(hist["g_loss"]))
    if cfg.clip:
        for leaf in jax.tree.leaves(state.d_params):
            assert float(jnp.max(jnp.abs(leaf))) <= 0.01 + 1e-7  # clipping is exact up to float32 eps


# --- reuse_fake: the DCGAN loop (one generated batch for the critic and the generator step) -------

def _one_step(cfg, hp, seed=3):
    t = make_trainer(cfg)
    s0 = jax.jit(t.init)(hp, jax.random.key(seed))
    s1, _ = jax.jit(t.advance, static_argnums=2)(hp, s0, 1)
    return t, s0, s1


def test_reuse_fake_generator_steps_on_the_critics_batch():
    from mcjax.systems.gan import losses, nets
    from mcjax.systems.gan.optimizers import make_optimizer

    cfg = TINY.replace(steps=1, log_every=1)
    hp = make_hparams()
    _, _, fresh = _one_step(cfg, hp)
    t, s0, s1 = _one_step(cfg.replace(reuse_fake=True), hp)
    # The critic step is the same computation on the same batch: float reassociation only.
    chex.assert_trees_all_close(s1.d_params, fresh.d_params, rtol=1e-6, atol=1e-7)
    # The generator step is not: it reuses the critic's z instead of drawing its own.
    assert not np.allclose(jax.tree.leaves(s1.g_params)[0], jax.tree.leaves(fresh.g_params)[0])
    # Reference: Adam on grad_g of the non-saturating loss of the *updated* critic at G(g, z_c),
    # z_c the critic's batch (step key fold_in(train_key, 0) -> critic key -> its latent draw).
    k_critic, _ = jax.random.split(jax.random.fold_in(s0.train_key, 0))
    k_z = jax.random.split(jax.random.fold_in(k_critic, 0), 5)[1]
    z = jax.random.normal(k_z, (cfg.batch_size, cfg.latent_dim))
    crit = nets.critic(cfg.width, cfg.depth, cfg.activation)
    g_loss = lambda g: losses.LOSSES[cfg.loss].generator(crit.apply(s1.d_params, t.generate(g, z))[0])
    grads = jax.grad(g_loss)(s0.g_params)
    tx = make_optimizer(cfg.optimizer, hp.lr_g, hp)
    updates, _ = tx.update(grads, tx.init(s0.g_params), s0.g_params)
    expected = jax.tree.map(lambda p, u: p + u, s0.g_params, updates)
    # Adam's first step is lr * g / (|g| + eps): float32 rounding of g near 0 moves it by ~1e-6 * lr.
    chex.assert_trees_all_close(s1.g_params, expected, rtol=1e-5, atol=1e-6)


def test_reuse_fake_runs_the_generator_forward_pass_once_per_step():
    hp = make_hparams()

    def n_dots(cfg):
        t = make_trainer(cfg)
        state = jax.eval_shape(t.init, hp, jax.random.key(0))
        jaxpr = jax.make_jaxpr(lambda s: t.advance(hp, s, 1))(state)
        return str(jaxpr).count("dot_general[")

    cfg = TINY.replace(steps=1, log_every=1)
    # one generator layer's matmul per layer (depth hidden + 1 output) disappears from each step
    assert n_dots(cfg) - n_dots(cfg.replace(reuse_fake=True)) == cfg.depth + 1


@pytest.mark.parametrize("bad", [dict(n_critic=2), dict(unroll=1), dict(update="consensus")])
def test_reuse_fake_refuses_what_it_cannot_share(bad):
    from mcjax.systems.gan.config import ConfigError

    with pytest.raises(ConfigError, match="reuse_fake.*n_critic=1"):
        TINY.replace(reuse_fake=True, **bad)
