"""The long-format metrics CSV: its header, and values that read back exactly with pandas."""
import os

import numpy as np
import pytest

from mcjax.core.export import FIXED_COLUMNS, metrics_frame_rows, write_metrics_csv
from mcjax.core.results import GroupResult, SweepResult
from mcjax.systems.gan.config import Config

pd = pytest.importorskip("pandas")

S, N, T, K = 2, 3, 4, 3


def _group(label, setting_labels, hparams, history):
    return GroupResult(
        label=label, config=Config(), setting_labels=setting_labels, hparams=hparams,
        seeds=np.array([5, 6, 7]), log_steps=np.array([10, 20, 30, 40]), history=history,
        samples=np.zeros((S, N, 2, 2), np.float32), diverged=history["diverged"][:, :, -1],
        diverged_step=np.full((S, N), -1), target={"name": "ring", "n_modes": K}, compile_s=0.0,
        run_s=0.0)


def _result():
    """Two groups with different hyperparameters and metrics; awkward floats and a NaN."""
    rng = np.random.default_rng(0)
    kl = rng.normal(size=(S, N, T))  # float64 with all 53 bits in use
    kl[1, 2, 3] = np.nan
    kl[0, 0, :3] = [0.1 + 0.2, 5e-324, 1 / 3]
    diverged = np.zeros((S, N, T), bool)
    diverged[1, 0, 2:] = True
    a = _group("gan", ["lr_g=1e-4,beta1=0.5", "lr_g=1e-3,beta1=0.5"],
               {"lr_g": np.array([1e-4, 1e-3], np.float32), "beta1": np.array([0.5, 0.5], np.float32)},
               {"modes_covered": rng.integers(0, K + 1, (S, N, T)).astype(np.int32),
                "reverse_kl": kl,
                "hq_fraction": rng.uniform(size=(S, N, T)).astype(np.float32),
                "diverged": diverged,
                "mode_counts": rng.uniform(0, 100, (S, N, T, K)).astype(np.float32)})
    b = _group("consensus", ["", "gamma=1"],
               {"lr_g": np.array([2e-4, 2e-4], np.float32),
                "consensus_gamma": np.array([0.1, 1.0], np.float32)},
               {"modes_covered": rng.integers(0, K + 1, (S, N, T)).astype(np.int32),
                "reverse_kl": rng.normal(size=(S, N, T)),
                "diverged": np.zeros((S, N, T), bool),
                "rotation": rng.normal(size=(S, N, T)).astype(np.float32),
                "hessian_eigs": rng.normal(size=(S, N, T, 2, 2))})
    return SweepResult(groups=[a, b])


def _read(result, tmp_path):
    path = str(tmp_path / "metrics.csv")
    assert write_metrics_csv(result, path) == path
    return pd.read_csv(path)


def test_the_header_is_the_union_in_a_fixed_order():
    header, _ = metrics_frame_rows(_result())
    assert header == [
        *FIXED_COLUMNS, "hp_beta1", "hp_consensus_gamma", "hp_lr_g",
        "diverged", "hessian_eigs_0_0", "hessian_eigs_0_1", "hessian_eigs_1_0", "hessian_eigs_1_1",
        "hq_fraction", "mode_counts_0", "mode_counts_1", "mode_counts_2", "modes_covered",
        "reverse_kl", "rotation"]


def test_flattened_columns_sort_by_index_not_by_text():
    g = _result().groups[0]
    g.history["mode_counts"] = np.zeros((S, N, T, 12))
    header, _ = metrics_frame_rows(SweepResult(groups=[g]))
    assert [c for c in header if c.startswith("mode_counts")] == [f"mode_counts_{k}" for k in range(12)]


def test_the_csv_reads_back_exactly(tmp_path):
    result = _result()
    df = _read(result, tmp_path)
    assert len(df) == 2 * S * N * T
    for g in result.groups:
        sub = df[df.remedy == g.label]
        assert len(sub) == S * N * T
        s, n, t = (a.reshape(-1) for a in np.indices((S, N, T)))
        assert list(sub.setting.fillna("")) == [g.setting_labels[i] for i in s]
        np.testing.assert_array_equal(sub.seed, g.seeds[n])
        np.testing.assert_array_equal(sub.step, g.log_steps[t])
        for name, v in g.hparams.items():
            np.testing.assert_array_equal(sub["hp_" + name].astype(np.float32), v[s])
        for name in ("modes_covered", "reverse_kl", "hq_fraction", "rotation"):
            if name in g.history:
                v = g.history[name].reshape(-1)
                # repr round trip: float64 bit for bit; float32 as the float64 of each value
                np.testing.assert_array_equal(sub[name].to_numpy(), v.astype(np.float64))
                np.testing.assert_array_equal(sub[name].to_numpy().astype(v.dtype), v)
        np.testing.assert_array_equal(sub.diverged, g.history["diverged"].reshape(-1).astype(int))
        assert sub.diverged.dtype.kind == "i" and sub.modes_covered.dtype.kind == "i"


def test_nan_mode_counts_and_missing_cells(tmp_path):
    result = _result()
    a, b = result.groups
    df = _read(result, tmp_path)
    da, db = df[df.remedy == "gan"], df[df.remedy == "consensus"]
    kl = da.reverse_kl.to_numpy()
    assert np.isnan(kl[np.ravel_multi_index((1, 2, 3), (S, N, T))]) and np.isnan(kl).sum() == 1
    assert kl[:3].tolist() == [0.1 + 0.2, 5e-324, 1 / 3]
    counts = np.stack([da[f"mode_counts_{k}"] for k in range(K)], -1)
    np.testing.assert_array_equal(counts, a.history["mode_counts"].reshape(-1, K).astype(np.float64))
    eigs = np.stack([db[f"hessian_eigs_{i}_{j}"] for i in range(2) for j in range(2)], -1)
    np.testing.assert_array_equal(eigs, b.history["hessian_eigs"].reshape(-1, 4))
    for col in ["hp_consensus_gamma", "rotation", "hessian_eigs_0_0", "hessian_eigs_1_1"]:
        assert da[col].isna().all(), col
    for col in ["hp_beta1", "hq_fraction", "mode_counts_0", "mode_counts_2"]:
        assert db[col].isna().all(), col
    eig_cols = [f"hessian_eigs_{i}_{j}" for i in (0, 1) for j in (0, 1)]
    absent = ["hp_consensus_gamma", "rotation", *eig_cols]
    assert not da.drop(columns=["reverse_kl", *absent]).isna().any().any()


def test_rows_are_plain_python_with_none_for_missing():
    header, rows = metrics_frame_rows(_result())
    rows = list(rows)
    assert len(rows) == 2 * S * N * T and all(len(r) == len(header) for r in rows)
    first = dict(zip(header, rows[0]))
    assert first["remedy"] == "gan" and first["setting"] == "lr_g=1e-4,beta1=0.5"
    assert (first["seed"], first["step"]) == (5, 10)
    assert first["hp_lr_g"] == float(np.float32(1e-4)) and first["hp_consensus_gamma"] is None
    assert first["reverse_kl"] == 0.1 + 0.2 and first["diverged"] == 0 and first["rotation"] is None
    last = dict(zip(header, rows[-1]))
    assert [last[c] for c in FIXED_COLUMNS] == ["consensus", "gamma=1", 7, 40]
    assert last["mode_counts_0"] is None and last["hp_beta1"] is None
    assert {type(v) for r in rows for v in r} <= {str, int, float, type(None)}


def test_the_file_is_replaced_whole_and_no_temporary_is_left(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("old")
    write_metrics_csv(_result(), str(path))
    assert os.listdir(tmp_path) == ["metrics.csv"]
    assert path.read_text().startswith("remedy,setting,seed,step,hp_beta1,")
    assert path.read_text().count("\n") == 1 + 2 * S * N * T


def test_bad_shapes_and_colliding_columns_are_refused():
    g = _result().groups[0]
    g.history["x"] = np.zeros((S, N, T, 2))
    g.history["x_0"] = np.zeros((S, N, T))
    with pytest.raises(ValueError, match="collide.*x_0"):
        metrics_frame_rows(SweepResult(groups=[g]))
    g = _result().groups[0]
    g.history["short"] = np.zeros((S, N, T - 1))
    with pytest.raises(ValueError, match="'short'"):
        metrics_frame_rows(SweepResult(groups=[g]))


def test_a_real_sweep_exports_its_history(tmp_path):
    from mcjax import RunSpec, run

    result = run(RunSpec(remedy=("gan",), seeds=2, steps=20, log_every=10, width=8, depth=1,
                         batch_size=16, latent_dim=4, eval_samples=100, keep_samples=7),
                 str(tmp_path / "o"), progress=False, figures=False, cache=False).result
    g = result.groups[0]
    df = _read(result, tmp_path)
    assert len(df) == 1 * 2 * 2 and set(df.remedy) == {g.label}
    np.testing.assert_array_equal(df.modes_covered, g.history["modes_covered"].reshape(-1))
    np.testing.assert_array_equal(df.step, np.tile(g.log_steps, 2))
    k = g.history["mode_counts"].shape[-1]
    counts = np.stack([df[f"mode_counts_{i}"] for i in range(k)], -1).astype(np.float32)
    np.testing.assert_array_equal(counts, g.history["mode_counts"].reshape(-1, k))
    np.testing.assert_array_equal(df.hp_lr_g.astype(np.float32), np.repeat(g.hparams["lr_g"], 4))


def test_final_only_metrics_fill_the_last_log_step(tmp_path):
    """``final_stats`` (Frechet, PRDC: measured once) are ``final_<name>`` columns, exact on each
    run's last log step, empty on the others and in groups that did not measure them."""
    result = _result()
    frechet = np.arange(S * N, dtype=np.float64).reshape(S, N) + 0.25
    result.groups[0].final_stats = {"frechet": frechet}
    path = str(tmp_path / "metrics.csv")
    write_metrics_csv(result, path)
    df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    gan = df[df.remedy == "gan"]
    last = gan[gan.step == 40]
    assert len(last) == S * N
    expected = [frechet[s, n] for s in range(S) for n in range(N)]
    np.testing.assert_array_equal(last.final_frechet.to_numpy(), expected)  # written with repr: exact
    assert gan[gan.step < 40].final_frechet.isna().all()
    assert df[df.remedy == "consensus"].final_frechet.isna().all()
