"""Regenerate the measured explanation claims from the shipped recipes over seeds: ``asd-explain measure``."""
from .plan import EVIDENCE_SETTINGS, Corpus, MeasureConfig, step_points
from .report import collect, over_seeds
from .runner import run_measurement

__all__ = ["EVIDENCE_SETTINGS", "Corpus", "MeasureConfig", "collect", "over_seeds", "run_measurement",
           "step_points"]
