"""Every explainer of the audio-visual model behind one registry, all returning the same ``Explanation``.

``AV_EXPLAINERS`` maps a name to an ``AVExplainerSpec`` (family "se" or "grad-cam", and a builder);
``build_av_explainer(name, model, settings, modalities)`` makes one. Registered:

  se                                        ``SEAVExplainer`` with the settings' own references (one
                                            forward, all modalities, modality importance)
  se-clipmean, se-speaking, se-motion       the same with the "clip-mean" / "speaking" / "motion" reference
                                            for every modality
  se-paper                                  the settings with the paper's channel rule (excitation above mean
                                            + z std; ``top_percent`` off): equals ``se`` under the default
                                            settings, differs where they keep every channel (the published
                                            models' default, ``distill.PRETRAINED_FACE_MAPS``)
  gradcam, gradcam++, eigengradcam, fullgrad  ``GradCamAVExplainer``: the grad-cam method on each modality in
                                            turn (one forward + backward per modality, ``av_baselines``)

``explain(batch)`` of any of them gives ``Explanation.maps`` {modality: maps in batch layout}, ``logits``
(B, T, 2) and ``extras["seconds"]`` {modality: seconds spent on that modality's maps} (SE: the whole call,
charged to each modality, since one forward gives them all). Adding a method is one
``register_av_explainer`` call here.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

import torch

from .av_baselines import av_explainer
from .av_se import SEAVExplainer
from .base import Explainer, Explanation, Target
from .baselines import GRAD_CAM_METHODS
from .map_settings import MapSettings

AVBuilder = Callable[[Any, MapSettings, Sequence[str]], Explainer]


@dataclass(frozen=True)
class AVExplainerSpec:
    name: str
    family: str          # "se" or "grad-cam"
    build: AVBuilder


AV_EXPLAINERS: dict[str, AVExplainerSpec] = {}


def register_av_explainer(name: str, family: str) -> Callable[[AVBuilder], AVBuilder]:
    """Decorator: register ``build(model, settings, modalities) -> Explainer`` under ``name``."""
    def add(build: AVBuilder) -> AVBuilder:
        if name in AV_EXPLAINERS:
            raise ValueError(f"AV explainer {name!r} is already registered")
        AV_EXPLAINERS[name] = AVExplainerSpec(name, family, build)
        return build
    return add


def build_av_explainer(name: str, model: Any, settings: MapSettings | None = None,
                       modalities: Sequence[str] | None = None) -> Explainer:
    """The registered explainer ``name`` on ``model`` (``modalities``: the maps wanted; default: the model's)."""
    if name not in AV_EXPLAINERS:
        raise ValueError(f"unknown explainer {name!r} (valid: {', '.join(AV_EXPLAINERS)})")
    wanted = tuple(modalities) if modalities is not None else tuple(model.modalities)
    return AV_EXPLAINERS[name].build(model, settings or MapSettings(), wanted)


class TimedSE(SEAVExplainer):
    """``SEAVExplainer`` that reports its time in ``extras["seconds"]`` (charged to every modality)."""

    def explain(self, inputs: Mapping[str, Any], targets: Sequence[Target] | None = None) -> Explanation:
        started = time.perf_counter()
        result = super().explain(inputs, targets)
        seconds = time.perf_counter() - started
        result.extras["seconds"] = {m: seconds for m in result.maps}
        return result


@register_av_explainer("se", "se")
def _se(model: Any, settings: MapSettings, modalities: Sequence[str]) -> Explainer:
    return TimedSE(model, settings, modalities)


def _se_variant(name: str, reference: str) -> None:
    @register_av_explainer(name, "se")
    def build(model: Any, settings: MapSettings, modalities: Sequence[str]) -> Explainer:
        return TimedSE(model, settings.with_reference(reference), modalities)


for _name, _reference in (("se-clipmean", "clip-mean"), ("se-speaking", "speaking"), ("se-motion", "motion")):
    _se_variant(_name, _reference)


@register_av_explainer("se-paper", "se")
def _se_paper(model: Any, settings: MapSettings, modalities: Sequence[str]) -> Explainer:
    return TimedSE(model, replace(settings, top_percent=None), modalities)


class GradCamAVExplainer(Explainer):
    """A grad-cam method (``baselines.GRAD_CAM_METHODS``) on each modality of the AV model in turn.

    ``explain(batch)``: maps {modality: (B, T, H, W) crops or (B, 4T, F) audio}, the logits of the last
    modality's forward (the same for every modality: only gradients differ), seconds per modality.
    """

    thread_safe = False  # grad-cam keeps gradients on the model

    def __init__(self, method: str, model: Any, modalities: Sequence[str]) -> None:
        self.name = method
        self.model = model
        self.modalities = tuple(modalities)

    def explain(self, inputs: Mapping[str, Any], targets: Sequence[Target] | None = None) -> Explanation:
        maps, seconds, logits = {}, {}, None
        for m in self.modalities:
            started = time.perf_counter()
            with av_explainer(self.name, self.model, inputs, m) as explainer:
                result = explainer.explain(inputs[m], targets)
            seconds[m] = time.perf_counter() - started
            self.model.zero_grad(set_to_none=True)  # the view cleared its encoder's; the rest got some too
            maps[m] = result.maps.float().cpu()
            logits = result.logits
        return Explanation(maps=maps, logits=logits, extras={"seconds": seconds})


def _grad_cam(method: str) -> None:
    @register_av_explainer(method, "grad-cam")
    def build(model: Any, settings: MapSettings, modalities: Sequence[str]) -> Explainer:
        return GradCamAVExplainer(method, model, modalities)


for _method in (m for m in GRAD_CAM_METHODS if m != "scorecam"):  # scorecam: one forward per channel and frame
    _grad_cam(_method)


def se_settings_for_compare(settings: MapSettings | None = None) -> MapSettings:
    """Map settings for timing comparisons: occlusion off (it is importance, not maps)."""
    return replace(settings or MapSettings(), occlusion=False)


def explainer_family(name: str) -> str:
    return AV_EXPLAINERS[name].family


def explain_with(explainer: Explainer, batch: Mapping[str, Any]) -> tuple[Explanation, torch.Tensor]:
    """``explainer.explain(batch)`` and the clean per-frame speaking scores (B, T) of the same call."""
    from ..models.heads import speaking_probability

    result = explainer.explain(batch)
    scores = result.extras.get("scores")
    return result, (speaking_probability(result.logits) if scores is None else scores).float().cpu()
