"""Analyses of explanations: which cue drives the decision per category, SE value statistics, and the
threshold / interpolation ablations that answer the paper's open questions (``asd-explain analyze``)."""
from .config import AnalysisConfig, configure, small, torch_threads
from .run import (
    PARTS,
    ablation_analysis,
    attention_analysis,
    av_pass,
    load_inputs,
    run_analysis,
    se_statistics_analysis,
)

__all__ = ["AnalysisConfig", "configure", "PARTS", "ablation_analysis", "attention_analysis", "av_pass", "load_inputs",
           "run_analysis", "se_statistics_analysis", "small", "torch_threads"]
