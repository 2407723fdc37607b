"""Settings of a preparation run that shape the store's content (saved in its manifest)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asd_explain.config import config_to_dict
from asd_explain.constants import SAMPLE_RATE_HZ
from asd_explain.data.image_codec import CODECS
from asd_explain.media.crops import COLOURS, INTERPOLATIONS, BodyFromFace
from asd_explain.pretrained_inputs.ava_crop import FACE_CROP_STYLES

BODY_SOURCES = ("derived", "csv", "none")


@dataclass(frozen=True)
class PrepSettings:
    """Crop sizes are ``(height, width)``; ``body_source``: ``derived`` (from the face box, the AVA default),
    ``csv`` (body boxes read from a body CSV, WASD) or ``none`` (no body stream). ``decoder``: ``pyav``
    (default, faster here) or ``decord``; it is part of the manifest so a resumed run decodes the same way.
    ``resize``: ``linear`` (the field's cv2.resize default) or ``area`` (anti-aliased, slower).
    ``face_crop``: ``box`` (the store's window of the face box) or ``authors`` (the window the published
    AVA models were trained on, grey 112 x 112: ``asd_explain.pretrained_inputs.ava_crop``).
    ``time_offset_s``: the annotation time of the video's first frame (900 for AVA videos cut to their
    annotated 15-minute segment); the store keeps the annotation's timestamps."""

    face_size: tuple[int, int] = (112, 112)
    face_colour: str = "gray"
    body_size: tuple[int, int] = (112, 112)
    body_colour: str = "gray"
    body_source: str = "derived"
    body_from_face: BodyFromFace = field(default_factory=BodyFromFace)
    image_codec: str = "zstd"
    jpeg_quality: int = 95
    decoder: str = "pyav"
    resize: str = "linear"
    time_offset_s: float = 0.0
    face_crop: str = "box"

    def __post_init__(self) -> None:
        if self.face_crop not in FACE_CROP_STYLES:
            raise ValueError(f"face_crop must be one of {', '.join(FACE_CROP_STYLES)}, got {self.face_crop!r}")
        if self.face_crop == "authors" and (tuple(self.face_size) != (112, 112) or self.face_colour != "gray"):
            raise ValueError("face_crop 'authors' makes grey 112 x 112 crops: use --face-size 112 --face-colour gray")
        for name in ("face_colour", "body_colour"):
            if getattr(self, name) not in COLOURS:
                raise ValueError(f"{name} must be one of {', '.join(COLOURS)}, got {getattr(self, name)!r}")
        if self.body_source not in BODY_SOURCES:
            raise ValueError(f"body_source must be one of {', '.join(BODY_SOURCES)}, got {self.body_source!r}")
        if self.resize not in INTERPOLATIONS:
            raise ValueError(f"resize must be one of {', '.join(INTERPOLATIONS)}, got {self.resize!r}")
        if self.decoder not in ("pyav", "decord"):
            raise ValueError(f"decoder must be pyav or decord, got {self.decoder!r}")
        if self.image_codec not in CODECS:
            raise ValueError(f"image_codec must be one of {', '.join(CODECS)}, got {self.image_codec!r}")
        for name in ("face_size", "body_size"):
            size = getattr(self, name)
            if len(size) != 2 or min(size) < 8:
                raise ValueError(f"{name} must be (height, width) of at least 8 pixels, got {size!r}")

    @property
    def has_body(self) -> bool:
        return self.body_source != "none"

    def manifest_settings(self) -> dict[str, Any]:
        """The ``settings`` entry of the store manifest."""
        out = config_to_dict(self)
        out["sample_rate_hz"] = SAMPLE_RATE_HZ
        out["audio_dtype"] = "int16"
        if self.body_source != "derived":
            out.pop("body_from_face")
        if self.image_codec != "jpeg":
            out.pop("jpeg_quality")
        if not self.time_offset_s:
            out.pop("time_offset_s")
        if self.face_crop == "box":
            out.pop("face_crop")  # stores made before face_crop existed hold box crops and stay resumable
        return out


def parse_size(text: str) -> tuple[int, int]:
    """``"112"`` -> (112, 112); ``"160x112"`` -> (height 160, width 112)."""
    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"size {text!r} is not N or HxW") from None
    if len(values) == 1:
        return values[0], values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise ValueError(f"size {text!r} is not N or HxW")
