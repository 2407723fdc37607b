"""``MapSettings``: every option of the audio-visual SE maps in one frozen object.

Built once (``cli.options.map_settings_options`` from the command line, or in code) and passed whole to
``SEAVExplainer``, ``explain_tracks``, the evidence checks and ``explain VIDEO``; its ``to_dict()`` is the
"settings" block those write beside their outputs.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from ..constants import MODALITIES
from .references import MAP_REFERENCES
from .se_maps import DEFAULT_Z

MAP_MODALITIES = MODALITIES
NORMALIZE = ("frame", "track")
INTERPOLATIONS = ("bicubic", "bilinear", "nearest")


@dataclass(frozen=True)
class MapSettings:
    """How SE maps are drawn.

    z / top_percent: channels kept above mean + z * std of the excitation, or exactly the top PERCENT;
    interpolation: upsampling of the maps to the crop or the spectrogram;
    normalize: visual maps scaled to [0, 1] per "frame" or over each item's "track" (the audio attention
        always over the item);
    reference: the face maps' reference (``references.MAP_REFERENCES``), and the default of the others;
    body_reference / audio_reference: the body maps' / audio attention's (None: ``reference``; resolved
        on construction, so the stored value is always a name);
    motion_window: frames (odd) of the "motion" reference's window (25 = 1 s at 25 fps);
    occlusion: also measure each modality's occlusion importance (one extra pass of the fusion and
        temporal stages per modality, ``importance.occlusion_importance``).
    """

    z: float = DEFAULT_Z
    top_percent: float | None = None
    interpolation: str = "bicubic"
    normalize: str = "frame"
    reference: str = "zero"
    body_reference: str | None = None
    audio_reference: str | None = None
    motion_window: int = 25
    occlusion: bool = True

    def __post_init__(self) -> None:
        for name in ("body_reference", "audio_reference"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, self.reference)
        for name in ("reference", "body_reference", "audio_reference"):
            if getattr(self, name) not in MAP_REFERENCES:
                raise ValueError(f"{name} must be one of {', '.join(MAP_REFERENCES)}, got {getattr(self, name)!r}")
        if self.normalize not in NORMALIZE:
            raise ValueError(f"normalize must be 'frame' or 'track', got {self.normalize!r}")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {self.interpolation!r}")
        if self.motion_window < 1 or self.motion_window % 2 == 0:
            raise ValueError(f"motion_window must be a positive odd number of frames, got {self.motion_window}")
        if self.top_percent is not None and not 0 < self.top_percent <= 100:
            raise ValueError(f"top_percent must be in (0, 100], got {self.top_percent}")

    def reference_for(self, modality: str) -> str:
        """The reference of one modality's maps ("face", "body" or "audio")."""
        return {"face": self.reference, "body": self.body_reference, "audio": self.audio_reference}[modality]

    def with_reference(self, name: str) -> "MapSettings":
        """The same settings with ``name`` as the reference of every modality."""
        return replace(self, reference=name, body_reference=name, audio_reference=name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
