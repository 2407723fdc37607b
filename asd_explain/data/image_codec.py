"""Per-frame image codecs of the track store.

* ``zstd`` (default): the raw ``(H, W[, 3])`` uint8 pixels (RGB order) compressed with Zstandard level 3;
  lossless, and about 8x faster to decode than PNG (the loader's main cost), at ~1.4x PNG's size;
* ``png``: lossless, standard (each frame is a valid PNG file);
* ``jpeg``: lossy (``jpeg_quality``), the smallest;
* ``raw``: the pixels as they are.

Colour images are handled as RGB arrays; the BGR order OpenCV's codecs expect stays inside this module.
"""
from __future__ import annotations

import threading

import cv2
import numpy as np
import zstandard

CODECS = ("zstd", "png", "jpeg", "raw")
ZSTD_LEVEL = 3
_local = threading.local()


def _zstd() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    """Per-thread (compressor, decompressor): zstandard objects are not shared between threads."""
    if not hasattr(_local, "zstd"):
        _local.zstd = (zstandard.ZstdCompressor(level=ZSTD_LEVEL), zstandard.ZstdDecompressor())
    return _local.zstd


def encode_image(image: np.ndarray, codec: str = "png", quality: int = 95) -> bytes:
    """One ``(H, W)`` grey or ``(H, W, 3)`` RGB uint8 image -> bytes."""
    if codec == "raw":
        return np.ascontiguousarray(image, dtype=np.uint8).tobytes()
    if codec == "zstd":
        return _zstd()[0].compress(np.ascontiguousarray(image, dtype=np.uint8).tobytes())
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if codec == "png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
        ok, buf = cv2.imencode(".png", image, params)
    elif codec == "jpeg":
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    else:
        raise ValueError(f"unknown image codec {codec!r} (expected one of {', '.join(CODECS)})")
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as {codec}")
    return buf.tobytes()


def decode_image(data: bytes | memoryview, codec: str, shape: tuple[int, ...]) -> np.ndarray:
    """Bytes of one frame -> ``shape`` uint8 array (``(H, W)`` grey or ``(H, W, 3)`` RGB)."""
    if codec == "zstd":
        data = _zstd()[1].decompress(data)
    buf = np.frombuffer(data, dtype=np.uint8)
    if codec in ("raw", "zstd"):
        return buf.reshape(shape)
    flag = cv2.IMREAD_GRAYSCALE if len(shape) == 2 else cv2.IMREAD_COLOR
    image = cv2.imdecode(buf, flag)
    if image is None:
        raise ValueError(f"corrupt {codec} frame ({len(buf)} bytes)")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image


def decode_images(data: bytes, offsets: np.ndarray, codec: str, shape: tuple[int, ...]) -> np.ndarray:
    """Concatenated frames -> ``(T, *shape)`` uint8; ``offsets (T + 1,)`` relative to ``data``'s start."""
    count = len(offsets) - 1
    out = np.empty((count, *shape), dtype=np.uint8)
    base = int(offsets[0]) if count >= 0 else 0
    view = memoryview(data)
    for t in range(count):
        out[t] = decode_image(view[int(offsets[t]) - base:int(offsets[t + 1]) - base], codec, shape)
    return out
