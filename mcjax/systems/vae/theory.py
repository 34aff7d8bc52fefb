"""Closed forms of the linear VAE (probabilistic PCA with a diagonal Gaussian encoder), in NumPy.

Data ``x ~ N(m_x, Sigma)``, ``Sigma``'s eigenvalues ``lambda_1 >= ... >= lambda_d``; prior
``p(z) = N(0, I_k)``; decoder ``p(x|z) = N(W z + mu, sigma^2 I_d)``; encoder
``q(z|x) = N(V (x - mu), diag(s^2))``. Along the eigenvectors the objective splits into one
problem per direction: latent ``j`` sees eigenvalue ``lambda_j`` (the top ``k``; a latent
beyond ``d`` sees 0), with decoder weight ``w_j``, encoder weight ``v_j`` and posterior
variance ``s_j^2``:

  ``E_x E_q log p(x|z) = -d/2 ln(2 pi sigma^2) - 1/(2 sigma^2) sum_i [(1 - w_i v_i)^2 lambda_i
  + w_i^2 s_i^2]`` (``w_i = v_i = 0`` for directions without a latent),

  ``KL_j = E_x KL(q(z_j|x) || N(0, 1)) = 1/2 (s_j^2 + v_j^2 lambda_j - 1 - ln s_j^2)``.

The beta-VAE maximises ``E log p(x|z) - beta sum_j KL_j``; divided by ``beta`` it is the
plain ELBO with ``sigma^2 -> tau = beta sigma^2`` (up to a constant), so every closed form of
the plain VAE holds for the beta-VAE with ``tau`` in place of ``sigma^2``:

* latent ``j`` collapses (``q(z_j|x) = p(z_j)``: ``w_j = v_j = 0``, ``s_j^2 = 1``) exactly when
  ``lambda_j <= tau``;
* an active latent has ``w_j = sqrt(lambda_j - tau)``, ``v_j = w_j / lambda_j``,
  ``s_j^2 = tau / lambda_j``, ``KL_j = 1/2 ln(lambda_j / tau)`` and
  ``Cov_x(E_q z_j) = v_j^2 lambda_j = 1 - tau / lambda_j``;
* the aggregate posterior is ``N(0, I)`` (``Cov_x(E_q z_j) + s_j^2 = 1``), so
  ``I(x; z) = sum_j KL_j`` (Hoffman & Johnson 2016: ``E_x KL = I + KL(q(z) || p(z))``).

Remedies with closed forms (same per-direction problem):

* free bits ``lambda_fb`` (the objective's ``KL_j`` replaced by ``max(KL_j, lambda_fb)``): below
  ``lambda_fb`` only the reconstruction acts and it gains from every nat, so every
  ``KL_j >= lambda_fb`` at the optimum. KL under the floor is free, so the optimum is *not*
  aligned with the eigenvectors (a strong direction's information spreads over several latents);
  among aligned encoders ``KL_j = max(1/2 ln(lambda_j / tau)_+, lambda_fb)``
  (:func:`free_bits_aligned`);
* delta-VAE (Razavi et al. 2019: ``s_j^2 <= c``, ``c < 1`` the root of
  ``1/2 (c - 1 - ln c) = delta``, so ``KL_j >= delta`` for every ``x``): where ``tau / lambda_j
  <= c`` nothing changes; where ``c tau < lambda_j`` otherwise, ``s_j^2 = c``,
  ``Cov_x(E_q z_j) = sqrt(c lambda_j / tau) - c`` (decoder and encoder weights balanced,
  ``w_j^2 c / tau = v_j^2 lambda_j``, product ``w_j v_j = 1 - sqrt(c tau / lambda_j)``); where
  ``lambda_j <= c tau`` the latent carries nothing and ``KL_j = delta``: the threshold moves
  to ``c tau``. Capped latents share ``s_j^2 = c``, so rotations among them keep the loss and
  only their total KL is unique (the aligned point is one optimum of that family);
* learned ``sigma^2`` with ``k < d``: the ELBO's optimum is probabilistic PCA's maximum
  likelihood, ``sigma^2 = mean(lambda_{k+1}, ..., lambda_d)`` (Tipping & Bishop 1999, Eq. 8;
  Lucas et al. 2019, Sec. 4).

References:
  Tipping & Bishop 1999, "Probabilistic principal component analysis", JRSS B 61(3);
  Lucas, Tucker, Grosse & Norouzi 2019, "Don't blame the ELBO! A linear VAE perspective on
  posterior collapse", NeurIPS; Higgins et al. 2017 (beta-VAE); Kingma et al. 2016 (free bits);
  Razavi et al. 2019, "Preventing posterior collapse with delta-VAEs", ICLR; Hoffman & Johnson
  2016, "ELBO surgery".
"""
from __future__ import annotations

import numpy as np

__all__ = ["latent_eigenvalues", "optimum", "aligned_elbo_terms", "delta_variance_cap",
           "free_bits_aligned", "sigma2_mle", "kl_hill", "optimum_weights"]


def latent_eigenvalues(eigenvalues, k: int) -> np.ndarray:
    """``[k]``: the eigenvalue each latent sees at the optimum: the ``k`` largest, descending,
    padded with 0 when ``k > d``."""
    lam = np.sort(np.asarray(eigenvalues, np.float64))[::-1]
    return np.concatenate([lam, np.zeros(max(k - lam.size, 0))])[:k]


def delta_variance_cap(delta: float) -> float:
    """``c``: the posterior variance below which a Gaussian's KL to ``N(0, 1)`` is at least
    ``delta`` whatever its mean: the root ``c <= 1`` of ``1/2 (c - 1 - ln c) = delta``."""
    from scipy.optimize import brentq

    if delta <= 0:
        return 1.0
    return float(brentq(lambda c: 0.5 * (c - 1 - np.log(c)) - delta, 1e-300, 1.0, xtol=1e-15))


def optimum(eigenvalues, sigma2: float, k: int, beta: float = 1.0, delta: float = 0.0) -> dict:
    """The per-latent optimum of the (beta-, delta-) linear VAE, sorted by eigenvalue.

    Args:
      eigenvalues: ``[d]`` the data covariance's eigenvalues.
      sigma2: the decoder's (fixed) noise variance.
      k: latent dimensions.
      beta: weight of the KL term.
      delta: the delta-VAE's KL floor (``0``: no cap on the posterior variance).

    Returns:
      ``lam``, ``active`` (bool), ``w``, ``v``, ``post_var`` (``s_j^2``), ``mean_var``
      (``Cov_x(E_q z_j)``), ``kl`` (``KL_j``), each ``[k]``, and ``mi`` (``I(x; z)`` of the
      Gaussian aggregate posterior).

    Example:
      >>> optimum([4.0, 2.0, 0.5], 1.0, 3)["kl"]  # 1/2 ln 4, 1/2 ln 2, collapsed
      array([0.69314718, 0.34657359, 0.        ])
    """
    lam = latent_eigenvalues(eigenvalues, k)
    tau = beta * sigma2
    c = delta_variance_cap(delta)
    safe = np.where(lam > 0, lam, 1.0)
    free = tau / safe <= c  # the cap does not bind: the plain optimum
    capped_active = ~free & (lam > c * tau)
    active = (lam > tau) & free | capped_active
    post_var = np.where(active & free, tau / safe, np.minimum(c, 1.0))
    mean_var = np.where(free, 1 - tau / safe, np.sqrt(c * safe / tau) - c)
    mean_var = np.where(active, mean_var, 0.0)
    product = np.where(free, 1 - tau / safe, 1 - np.sqrt(c * tau / safe))
    v = np.where(active, np.sqrt(mean_var / safe), 0.0)
    w = np.where(active, product / np.where(v > 0, v, 1.0), 0.0)
    kl = 0.5 * (post_var + mean_var - 1 - np.log(post_var))
    mi = 0.5 * np.sum(np.log((mean_var + post_var) / post_var))
    return {"lam": lam, "active": active, "w": w, "v": v, "post_var": post_var,
            "mean_var": mean_var, "kl": kl, "mi": float(mi)}


def aligned_elbo_terms(eigenvalues, sigma2: float, w, v, post_var) -> tuple[float, np.ndarray]:
    """``(E log p(x|z), KL_j [k])`` of an encoder and decoder aligned with the eigenvectors
    (latent ``j`` on the ``j``-th largest eigenvalue; the module docstring's formulas)."""
    lam_all = np.sort(np.asarray(eigenvalues, np.float64))[::-1]
    w, v, s2 = (np.asarray(a, np.float64) for a in (w, v, post_var))
    k, d = w.size, lam_all.size
    lam = latent_eigenvalues(lam_all, k)
    resid = np.sum((1 - w * v) ** 2 * lam + w**2 * s2) + np.sum(lam_all[k:])
    recon = -0.5 * d * np.log(2 * np.pi * sigma2) - resid / (2 * sigma2)
    return float(recon), 0.5 * (s2 + v**2 * lam - 1 - np.log(s2))


def free_bits_aligned(eigenvalues, sigma2: float, k: int, free_bits: float, beta: float = 1.0) -> dict:
    """The free-bits optimum among encoders aligned with the eigenvectors, per latent ``[k]``: ``kl = max(1/2 ln(lambda_j / tau)_+, lambda_fb)``;
    where the floor binds the aggregate posterior stays ``N(0, 1)`` and ``KL_j = -1/2 ln s_j^2``,
    so ``post_var = exp(-2 lambda_fb)`` and ``mean_var = 1 - exp(-2 lambda_fb)`` whatever
    ``lambda_j`` (``tau = beta sigma^2``; checked by direct maximisation in the tests)."""
    o = optimum(eigenvalues, sigma2, k, beta)
    floor = o["kl"] < free_bits
    post_var = np.where(floor, np.exp(-2.0 * free_bits), o["post_var"])
    return {"lam": o["lam"], "kl": np.maximum(o["kl"], free_bits), "post_var": post_var,
            "mean_var": 1.0 - post_var, "active": o["active"] | (floor & (1.0 - post_var > 0.01))}


def sigma2_mle(eigenvalues, k: int) -> float:
    """Probabilistic PCA's maximum-likelihood noise variance: the mean of the ``d - k`` smallest
    eigenvalues (Tipping & Bishop 1999, Eq. 8); needs ``k < d``."""
    lam = np.sort(np.asarray(eigenvalues, np.float64))[::-1]
    if k >= lam.size:
        raise ValueError(f"k={k} must be below d={lam.size} for a finite maximum-likelihood sigma^2")
    return float(lam[k:].mean())


def kl_hill(kl, active) -> np.ndarray:
    """``[3]``: Hill numbers ``D_0, D_1, D_2`` of the KL shares of the active latents
    (``p_j = KL_j [active_j] / sum_i KL_i [active_i]``; all 0 when none is active)."""
    c = np.where(np.asarray(active, bool), np.asarray(kl, np.float64), 0.0)
    if c.sum() <= 0:
        return np.zeros(3)
    p = c[c > 0] / c.sum()
    return np.array([p.size, np.exp(-np.sum(p * np.log(p))), 1 / np.sum(p**2)])


def optimum_weights(eigenvalues, opt: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W [d, k], V [k, d], post_var [k])`` of an optimum (:func:`optimum`) for data with
    covariance ``diag(eigenvalues)`` in the given order: latent ``j`` on the axis of the ``j``-th
    largest eigenvalue (none beyond ``d``)."""
    lam = np.asarray(eigenvalues, np.float64)
    k = len(opt["w"])
    order = np.argsort(-lam, kind="stable")
    W, V = np.zeros((lam.size, k)), np.zeros((k, lam.size))
    for j, axis in enumerate(order[:k]):
        W[axis, j], V[j, axis] = opt["w"][j], opt["v"][j]
    return W, V, np.asarray(opt["post_var"], np.float64)
