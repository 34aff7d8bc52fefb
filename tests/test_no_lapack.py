"""No registered system's training program calls jaxlib's CPU LAPACK kernels.

Why: those kernels split a vmapped batch over the intra-op thread pool that the sweep's own
programs occupy and wait for it; large sweeps then hang for good (PSGD Kron, the VAE's QR and
slogdet: docs/results.md, study 5; docs/zoo.md). Each system's default spec, shrunk, is lowered
as the sweep runs it (init, then advance, vmapped over runs) and its HLO searched.
"""
import re

import jax
import pytest

from mcjax import DecodeSpec, GASpec, RunSpec, VAESpec, WFSpec
from mcjax import RecursiveSpec, SMCSpec

SPECS = {
    "gan": RunSpec(remedy=("gan", "r1"), seeds=2, steps=4, log_every=2, width=8, depth=1,
                   batch_size=8, eval_samples=16, keep_samples=4),
    "gan-kron": RunSpec(remedy=("gan",), optimizer="kron", seeds=2, steps=4, log_every=2, width=8,
                        depth=1, batch_size=8, eval_samples=16, keep_samples=4),
    "wright-fisher": WFSpec(seeds=2, generations=4, log_every=2, population=20, alleles=3),
    "ga": GASpec(seeds=2, generations=4, log_every=2, population=20),
    "decoding": DecodeSpec(seeds=2),
    "vae": VAESpec(seeds=2, steps=4, log_every=2),
    "smc-tempered": SMCSpec(remedy=("adaptive", "stratified", "residual"), seeds=2, particles=8,
                            steps=4, log_every=2),
    "smc-filter": SMCSpec(model="filter", remedy=("multinomial",), seeds=2, particles=8, steps=4,
                          log_every=2),
    "recursive": RecursiveSpec(remedy=("none", "none:fit=weights", "real-mix:fit=gaussian"), seeds=2,
                               generations=4, log_every=2, samples=16),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_training_program_has_no_lapack_call(name):
    for exp in SPECS[name].experiments():
        system = exp.config.make_system()
        hp = jax.tree.map(lambda a: a[0], exp.hparams)  # one setting

        def one(key, hp=hp, system=system):
            state = system.init(hp, key)
            return system.advance(hp, state, 1)

        hlo = jax.jit(jax.vmap(one)).lower(jax.random.split(jax.random.key(0), 3)).as_text()
        calls = re.findall(r"stablehlo\.custom_call @(\w+)", hlo)
        assert not [c for c in calls if "lapack" in c.lower()], (exp.label, calls)
