"""Synthetic audio-visual speaking corpus in the AVA-ActiveSpeaker / WASD formats, with known evidence.

``generate_corpus(out_dir, videos=..., seconds=..., seed=...)`` writes MP4 (H.264 + AAC) videos of
1-4 people talking, AVA annotation CSVs (per video and merged, face and body boxes), a metadata CSV
with WASD-like categories and, per video, an evidence file (mouth/gesture boxes, mouth opening,
voice activity). See docs/synth.md.
"""
from asd_explain.constants import SAMPLE_RATE_HZ
from asd_explain.data.evidence import load_evidence

from .config import CATEGORIES, FPS_CHOICES, GENERATOR_VERSION, PRESETS
from .corpus import CorpusError, generate_corpus

__all__ = ["CATEGORIES", "FPS_CHOICES", "GENERATOR_VERSION", "PRESETS", "SAMPLE_RATE_HZ", "CorpusError",
           "generate_corpus", "load_evidence"]
