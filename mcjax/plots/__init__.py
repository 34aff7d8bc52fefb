"""Figures, built without pyplot: ``coverage`` (a sweep's samples and mode coverage) and
``dynamics`` (the analysis of rotation and curvature)."""

from mcjax.plots.coverage import FIGURE_FILES as FIGURE_FILES
from mcjax.plots.coverage import coverage_distribution as coverage_distribution
from mcjax.plots.coverage import coverage_over_training as coverage_over_training
from mcjax.plots.coverage import sample_grid as sample_grid
from mcjax.plots.coverage import save_figures as save_figures
from mcjax.plots.coverage import wrap_label as wrap_label
