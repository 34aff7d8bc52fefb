"""Decoders of a topic Markov language model against enumeration and closed forms.

Stochastic checks average many seeds run in one vmapped program and allow ``Z`` standard errors
of the Monte-Carlo mean (the sample standard deviation over seeds / sqrt(seeds)).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mcjax.cli import main
from mcjax.core.system import check_system
from mcjax.systems.decoding.beam import beam_search, diverse_beam_search, greedy
from mcjax.systems.decoding.config import DecodeConfig, make_decode_hparams, stack_decode_hparams
from mcjax.systems.decoding.engine import make_system
from mcjax.systems.decoding.model import draw_model, enumerate_sequences, sequence_logp
from mcjax.systems.decoding.theory import (diverse_threshold, exact_top, expected_topics_covered,
                                           plackett_luce_inclusion, zipf_probs)

Z = 4.5  # standard errors allowed: a correct decoder fails one such check with probability < 1e-5


@functools.lru_cache(maxsize=None)
def _program(cfg: DecodeConfig):
    system = make_system(cfg)

    def run(h, seed):
        state, hist = system.advance(h, system.init(h, jax.random.key(seed)), cfg.n_logs)
        return state.beams.seqs, {k: v[-1] for k, v in hist.items()}, hist["D0"]

    return jax.jit(jax.vmap(run, (None, 0)))


def decode_runs(cfg: DecodeConfig, runs: int, **hp):
    """``(seqs [runs, B, L], final metrics name -> [runs])`` (NumPy) of seeds ``0..runs-1``, with
    ``"D0_history" [runs, L]``: the topics among the ``B`` prefixes after each position."""
    seqs, stats, d0 = _program(cfg)(make_decode_hparams(cfg, **hp), jnp.arange(runs, dtype=jnp.uint32))
    return np.asarray(seqs), {**{k: np.asarray(v) for k, v in stats.items()}, "D0_history": np.asarray(d0)}


SAMPLE = DecodeConfig(vocab=5, topics=5, length=2, width=4, decoder="sample")


def test_contract_and_seeds_differ():
    check_system(SAMPLE.make_system(), SAMPLE.default_hparams())
    seqs, _ = decode_runs(SAMPLE, 4000)  # the program of the coverage test below
    assert len({s.tobytes() for s in seqs}) > 1000  # each seed its own model and draws
    decode_runs(SAMPLE, 4000, temperature=0.5, concentration=4.0, zipf=2.0)
    assert _program(SAMPLE)._cache_size() == 1  # new hyperparameter values: no retrace


@pytest.mark.parametrize("seed", [0, 1])
def test_beam_search_covering_every_prefix_is_the_exact_top_b_and_greedy_is_argmax(seed):
    v, k, length = 3, 2, 3
    model = draw_model(jax.random.key(seed), v, k, jnp.float32(1.0), jnp.float32(2.0))
    every = enumerate_sequences(v, k, length)  # 18 sequences of nonzero probability
    logp = np.asarray(sequence_logp(model, jnp.asarray(every)), np.float64)
    np.testing.assert_allclose(np.exp(logp).sum(), 1.0, rtol=1e-5)  # float32 log-probabilities
    seqs, scores = jax.jit(beam_search, static_argnums=(1, 2))(model, len(every), length)
    top = exact_top(logp, len(every))
    np.testing.assert_array_equal(np.asarray(seqs), every[top])  # N(0,1) logits: no ties
    np.testing.assert_allclose(np.asarray(scores), logp[top], atol=1e-5)  # float32 sums of 3 terms
    g, _ = jax.jit(greedy, static_argnums=1)(model, length)
    first, trans = np.asarray(model.first), np.asarray(model.trans)
    x = [int(np.argmax(first))]
    for _ in range(length - 1):
        x.append(int(np.argmax(trans[x[0], x[-1]])))
    np.testing.assert_array_equal(np.asarray(g)[0], x)


def test_beam_search_collapses_onto_the_top_topic_with_flat_chains():
    """concentration = 0: every topic-k sequence has log pi_k - (L-1) log V, so the top B <= V^(L-1)
    are all topic 1 (reverse KL to pi: -log pi_1); beam search returns them on every seed. It
    holds all B = K topics after position 0 and only topic 1 from position 1 on (pi_1 / V > pi_2)."""
    cfg = DecodeConfig(vocab=4, topics=4, length=3, width=4, decoder="beam")
    seqs, stats = decode_runs(cfg, 16, concentration=0.0)
    assert (seqs[:, :, 0] == 0).all() and (stats["D0"] == 1).all()
    assert (stats["unique"] == 4).all()  # 4 different sequences, one topic
    assert (stats["D0_history"] == [4, 1, 1]).all()
    np.testing.assert_allclose(stats["reverse_kl"], -np.log(zipf_probs(4, 1.0)[0]), rtol=1e-5)


def test_independent_samples_cover_the_expected_topics():
    """E D0 = sum_k [1 - (1 - pi_k)^B] for B independent draws (temperature 1, no nucleus)."""
    expected = expected_topics_covered(zipf_probs(5, 1.0), 4)
    for decoder, hp in (("sample", {}), ("nucleus", {"top_p": 1.0})):
        _, stats = decode_runs(SAMPLE.replace(decoder=decoder), 4000, **hp)
        d0 = stats["D0"]
        assert abs(d0.mean() - expected) < Z * d0.std() / np.sqrt(d0.size), (decoder, d0.mean(), expected)
    # a nucleus of mass -> 0 holds only the most probable token: every draw is the greedy path
    _, stats = decode_runs(SAMPLE.replace(decoder="nucleus"), 4000, top_p=1e-3)
    assert (stats["D0"] == 1).all() and (stats["unique"] == 1).all()


def test_diverse_beam_second_group_leaves_topic_one_exactly_above_log_pi1_over_pi2():
    """G = B = 4: group 2 at position 0 maximises log pi_k - lambda [k = 1]."""
    width = 4
    model = draw_model(jax.random.key(3), 5, 4, jnp.float32(1.0), jnp.float32(2.0))
    thr = diverse_threshold(zipf_probs(4, 1.0))  # log 2
    lams = jnp.asarray([0.0, thr - 1e-3, thr + 1e-3, 5.0], jnp.float32)  # 1e-3 >> float32 eps of log pi
    run = jax.jit(jax.vmap(lambda lam: diverse_beam_search(model, width, width, 3, lam)[0]))
    first = np.asarray(run(lams))[:, :, 0]
    assert (first[:, 0] == 0).all()  # group 1 is plain beam search
    np.testing.assert_array_equal(first[:, 1] != 0, [False, False, True, True])
    np.testing.assert_array_equal(first[2, 1], 1)  # just above: the second most probable topic


def test_stochastic_beam_first_step_is_plackett_luce_without_replacement():
    """length 1: stochastic beam search is Gumbel-top-B of log pi^(1/T)."""
    cfg = DecodeConfig(vocab=5, topics=5, length=1, width=2, decoder="stochastic-beam")
    for temperature in (1.0, 2.0):
        seqs, _ = decode_runs(cfg, 4000, temperature=temperature)
        first = seqs[:, :, 0]
        assert (first[:, 0] != first[:, 1]).all()  # without replacement
        hits = np.stack([(first == k).any(axis=1) for k in range(5)], axis=1).astype(float)
        exact = plackett_luce_inclusion(zipf_probs(5, 1.0) ** (1 / temperature), 2)
        se = np.sqrt(exact * (1 - exact) / len(hits))
        assert (np.abs(hits.mean(0) - exact) < Z * se).all(), (temperature, hits.mean(0), exact)


DEC = ["sweep", "--system", "decoding", "--vocab", "4", "--topics", "4", "--length", "3",
       "--seeds", "4", "--no-progress", "--no-cache"]


@pytest.mark.parametrize("args, expected", [
    (["--remedy", "beem"], "unknown remedy 'beem' (did you mean 'beam'?)"),
    (["--remedy", "diverse-beam", "--width", "3"], "groups=2 must divide width=3"),
    (["--topics", "5"], "topics must be at most vocab=4"),
    (["--remedy", "nucleus:top_p=2"], "top_p must be a number in (0, 1], got 2.0"),
    (["--remedy", "sample:speed=2"], "remedy 'sample' has no parameter 'speed'"),
    (["--sweep", "width=2,4"], "--sweep width: width is static"),
    (["--population", "10"], "--population is an option of --system wright-fisher"),
    (["--log-every", "2"], "log_every=2 does not divide length=3"),
])
def test_bad_decoding_input_exits_2_in_one_line_before_writing(args, expected, capsys, tmp_path):
    assert main([*DEC, *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_cli_sweep_writes_the_table(tmp_path, capsys):
    out = tmp_path / "dec"
    assert main([*DEC, "--remedy", "beam", "--sweep", "concentration=0,4", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    cells = {line.split(" | ")[0].strip(): [c.strip() for c in line.split(" | ")[1:]]
             for line in table.splitlines() if " | " in line}
    assert cells["remedy"] == ["D0 topics", "D1", "D2", "reverse KL", "distinct-1", "distinct-2",
                               "Hamming", "log p", "diverged"]
    # flat chains: beam search's 4 outputs all have topic 1 on every seed (the collapse)
    assert cells["beam[concentration=0]"][:3] == ["1.0 (1.0-1.0) of 4", "1.00 (1.00-1.00)",
                                                  "1.00 (1.00-1.00)"]
    assert cells["beam[concentration=4]"][0] != cells["beam[concentration=0]"][0]
    assert (out / "diversity.png").stat().st_size > 0
    assert main(["show", str(out)]) == 0 and capsys.readouterr().out.strip() in table


def test_stochastic_beam_draws_whole_sequences_without_replacement_plackett_luce():
    """Kool et al. 2019, Thm. 1: the top B of the conditioned Gumbels over the tree are B sequences
    drawn without replacement from p (temperature 1), i.e. Plackett-Luce over the 6 sequences."""
    from mcjax.systems.decoding.beam import stochastic_beam_search

    model = draw_model(jax.random.key(5), 3, 2, jnp.float32(1.0), jnp.float32(1.0))
    every = enumerate_sequences(3, 2, 2)
    p = np.exp(np.asarray(sequence_logp(model, jnp.asarray(every)), np.float64))
    draw = jax.jit(jax.vmap(lambda s: stochastic_beam_search(model, jax.random.key(s), 2, 2, 1.0)[0]))
    seqs = np.asarray(draw(jnp.arange(4000, dtype=jnp.uint32)))
    code = seqs[:, :, 0] * 3 + seqs[:, :, 1]  # every's row index (lexicographic)
    assert (code[:, 0] != code[:, 1]).all()
    hits = np.stack([(code == i).any(axis=1) for i in range(len(every))], axis=1).mean(0)
    exact = plackett_luce_inclusion(p / p.sum(), 2)
    se = np.sqrt(exact * (1 - exact) / len(seqs))
    assert (np.abs(hits - exact) < Z * se).all(), (hits, exact)


def test_interrupted_sweep_resumes_to_the_uninterrupted_result(tmp_path, capsys):
    import os
    import signal

    from mcjax import SweepResult
    from mcjax.core.run import run
    from mcjax.core.sweep import Interrupted
    from mcjax.systems.decoding.spec import DecodeSpec

    spec = DecodeSpec(remedy=("sample",), seeds=3, vocab=4, topics=4, length=3, log_every=1)
    whole = run(spec, str(tmp_path / "whole"), progress=False, figures=False, cache=False)
    cut = str(tmp_path / "cut")
    with pytest.raises(Interrupted):
        run(spec, cut, progress=False, figures=False, cache=False,
            on_chunk=lambda report: os.kill(os.getpid(), signal.SIGINT))
    capsys.readouterr()
    assert main(["sweep", "--resume", cut, "--no-progress", "--no-cache", "--no-figures"]) == 0
    resumed = SweepResult.load(cut)
    for k, v in whole.result.groups[0].history.items():  # position t draws with fold_in(key, t)
        np.testing.assert_array_equal(v, resumed.groups[0].history[k], err_msg=k)
    np.testing.assert_array_equal(whole.result.groups[0].samples, resumed.groups[0].samples)
