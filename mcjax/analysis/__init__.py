"""Why it collapsed: curvature of each player's loss and rotation in the game's dynamics.

``curvature``: Hessian-vector products, Lanczos/Arnoldi, top-k Hessian eigenvalues, spectral
density (SLQ), Hutchinson trace. ``dynamics``: the game Jacobian (dense and matrix-free), its
eigenvalues, the Helmholtz split, the rotation index and the path-angle. ``games``: Dirac-GAN,
bilinear and potential games, and a GAN configuration as a game. ``collapse``: measurements of
the mechanisms of collapse per run (mode flux, critic field, generator stretch, mode hopping). ``prediction``: ROC AUC with
bootstrap intervals, for whether a measurement predicts which run collapses.
"""

from .collapse import CriticField as CriticField
from .collapse import ForceField as ForceField
from .collapse import force_field as force_field
from .collapse import GeneratorStretch as GeneratorStretch
from .collapse import ModeHopping as ModeHopping
from .collapse import critic_field as critic_field
from .collapse import generator_stretch as generator_stretch
from .collapse import mode_flux as mode_flux
from .collapse import mode_hopping as mode_hopping
from .collapse import soft_occupancy as soft_occupancy
from .prediction import AucInterval as AucInterval
from .prediction import auc as auc
from .prediction import bootstrap_auc as bootstrap_auc

from .curvature import Estimate as Estimate
from .curvature import Krylov as Krylov
from .curvature import Lanczos as Lanczos
from .curvature import SpectralDensity as SpectralDensity
from .curvature import TopEigenvalues as TopEigenvalues
from .curvature import arnoldi as arnoldi
from .curvature import directional_curvature as directional_curvature
from .curvature import hessian_top_eigenvalues as hessian_top_eigenvalues
from .curvature import hessian_trace as hessian_trace
from .curvature import hvp as hvp
from .curvature import lanczos as lanczos
from .curvature import ritz_pairs as ritz_pairs
from .curvature import spectral_density as spectral_density
from .curvature import tridiagonal as tridiagonal
from .tridiagonal import eigvalsh_tridiagonal as eigvalsh_tridiagonal
from .tridiagonal import sturm_count as sturm_count
from .dynamics import PathAngle as PathAngle
from .dynamics import arnoldi_eigenvalues as arnoldi_eigenvalues
from .dynamics import game_jacobian as game_jacobian
from .dynamics import game_matvec as game_matvec
from .dynamics import helmholtz as helmholtz
from .dynamics import jacobian_eigenvalues as jacobian_eigenvalues
from .dynamics import jvp_game as jvp_game
from .dynamics import path_angle as path_angle
from .dynamics import rotation_index as rotation_index
from .dynamics import rotation_index_dense as rotation_index_dense
from .dynamics import vjp_game as vjp_game
from .games import DIRAC_LOSSES as DIRAC_LOSSES
from .games import GanGame as GanGame
from .games import bilinear_game as bilinear_game
from .games import dirac_gan as dirac_gan
from .games import dirac_gan_eigenvalues as dirac_gan_eigenvalues
from .games import gan_game as gan_game
from .games import potential_game as potential_game
