"""Image datasets for the SE classification recipe, all yielding the same item.

Item: ``{"image": (3, H, W) float32 normalised, "label": int, "mask": (H, W) bool}`` where the mask
is the ground-truth evidence when the dataset has one (``shapes``, or a folder with ``labels.csv`` and
masks) and all False otherwise (``has_masks`` tells which).

Datasets: ``shapes`` (generated, known evidence), ``cifar10`` / ``cifar100`` (torchvision; train =
first 45,000 training images, val = last 5,000, test = the test set), ``celeba`` (torchvision; one
binary attribute, default Smiling; official train/valid/test split), ``folder`` (``root/<split>/``
either an ImageFolder tree ``<class>/<image>`` or a ``labels.csv`` with ``file,label[,mask_file]``).
CIFAR and CelebA read from a user-given ``root`` and download only when asked (``download=True``).
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..constants import IMAGENET_MEAN, IMAGENET_STD
from .shapes import CLASSES as SHAPE_CLASSES
from .shapes import make_shapes_sample

DATASETS = ("shapes", "cifar10", "cifar100", "celeba", "folder")


def normalise(image_uint8: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 RGB -> (3, H, W) float32 normalised with the ImageNet mean/std."""
    x = torch.from_numpy(np.array(image_uint8, dtype=np.uint8)).permute(2, 0, 1).float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (x - mean) / std


def denormalise(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) normalised -> (N, H, W, 3) uint8 RGB, for drawing."""
    mean = torch.tensor(IMAGENET_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device).view(1, 3, 1, 1)
    x = (images * std + mean).clamp(0, 1).mul(255).round().byte()
    return x.permute(0, 2, 3, 1).cpu().numpy()


class ImageItems(Dataset):
    """Base: subclasses return (uint8 RGB image, label, mask or None) from ``raw(index)``."""

    classes: tuple[str, ...] = ()
    has_masks = False

    def __init__(self, image_size: int) -> None:
        self.image_size = int(image_size)
        self.mean, self.std = IMAGENET_MEAN, IMAGENET_STD

    def raw(self, index: int) -> tuple[np.ndarray, int, np.ndarray | None]:
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, label, mask = self.raw(index)
        size = (self.image_size, self.image_size)
        if image.shape[:2] != size:
            image = np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))
            if mask is not None:
                mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.NEAREST)) > 127
        if mask is None:
            mask = np.zeros(size, dtype=bool)
        return {"image": normalise(image), "label": int(label), "mask": torch.from_numpy(mask)}


class ShapesDataset(ImageItems):
    """``count`` generated images of one split (see ``shapes.make_shapes_sample``)."""

    classes = SHAPE_CLASSES
    has_masks = True

    def __init__(self, count: int, *, split: str = "train", seed: int = 0, image_size: int = 128) -> None:
        super().__init__(image_size)
        self.count, self.split, self.seed = int(count), split, int(seed)

    def __len__(self) -> int:
        return self.count

    def raw(self, index: int) -> tuple[np.ndarray, int, np.ndarray]:
        if not 0 <= index < self.count:
            raise IndexError(index)
        s = make_shapes_sample(index, split=self.split, seed=self.seed, image_size=self.image_size)
        return s.image, s.label, s.mask


class TorchvisionItems(ImageItems):
    """Adapter over a torchvision dataset returning (PIL image, target)."""

    def __init__(self, base: Dataset, classes: tuple[str, ...], image_size: int, label_of=int) -> None:
        super().__init__(image_size)
        self.base, self.classes, self.label_of = base, classes, label_of

    def __len__(self) -> int:
        return len(self.base)

    def raw(self, index: int) -> tuple[np.ndarray, int, None]:
        image, target = self.base[index]
        return np.asarray(image.convert("RGB")), self.label_of(target), None


class FolderItems(ImageItems):
    """``root/<split>/labels.csv`` (file,label[,mask_file], paths relative to it) or an ImageFolder tree."""

    def __init__(self, root: Path, image_size: int) -> None:
        super().__init__(image_size)
        self.root = root
        table = root / "labels.csv"
        if table.exists():
            self.items = _read_labels_csv(table)
            self.has_masks = all(m is not None for _, _, m in self.items)
            top = max(label for _, label, _ in self.items)
            self.classes = tuple(str(i) for i in range(top + 1))
        else:
            from torchvision.datasets import ImageFolder

            folder = ImageFolder(str(root))
            self.items = [(Path(p), label, None) for p, label in folder.samples]
            self.classes = tuple(folder.classes)
        if not self.items:
            raise ValueError(f"{root}: no images found")

    def __len__(self) -> int:
        return len(self.items)

    def raw(self, index: int) -> tuple[np.ndarray, int, np.ndarray | None]:
        path, label, mask_path = self.items[index]
        image = np.asarray(Image.open(path).convert("RGB"))
        mask = None if mask_path is None else np.asarray(Image.open(mask_path).convert("L")) > 127
        return image, label, mask


def _read_labels_csv(table: Path) -> list[tuple[Path, int, Path | None]]:
    items = []
    with table.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "label"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{table}: missing column(s) {', '.join(sorted(missing))}")
        for row_number, row in enumerate(reader, start=2):
            try:
                label = int(row["label"])
            except ValueError:
                raise ValueError(f"{table}, row {row_number}: label {row['label']!r} is not an integer") from None
            mask = row.get("mask_file") or None
            items.append((table.parent / row["file"], label, None if mask is None else table.parent / mask))
    return items


def build_image_dataset(
    name: str, *, root: str | Path | None = None, split: str = "train", image_size: int = 128,
    download: bool = False, attribute: str = "Smiling", count: int | None = None, seed: int = 0,
) -> ImageItems:
    """One split of a named dataset as ``ImageItems`` (see module docstring)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r} (valid: {', '.join(DATASETS)})")
    if split not in ("train", "val", "test"):
        raise ValueError(f"unknown split {split!r} (valid: train, val, test)")
    if name == "shapes":
        default = {"train": 6000, "val": 600, "test": 1200}[split]
        return ShapesDataset(count or default, split=split, seed=seed, image_size=image_size)
    if root is None:
        raise ValueError(f"dataset {name!r} needs --root (its folder on disk)")
    root = Path(root)
    if name == "folder":
        split_root = root / split if (root / split).is_dir() else root
        return _limit(FolderItems(split_root, image_size), count)
    if name in ("cifar10", "cifar100"):
        return _limit(_cifar(name, root, split, image_size, download), count)
    return _limit(_celeba(root, split, image_size, download, attribute), count)


def _cifar(name: str, root: Path, split: str, image_size: int, download: bool) -> ImageItems:
    from torchvision import datasets

    cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
    try:
        base = cls(str(root), train=split != "test", download=download)
    except RuntimeError as err:
        raise FileNotFoundError(f"{root}: {name} not found ({err}); pass --download to fetch it") from None
    items = TorchvisionItems(base, tuple(base.classes), image_size)
    if split == "test":
        return items
    keep = range(0, 45000) if split == "train" else range(45000, 50000)
    return _subset(items, list(keep))


def _celeba(root: Path, split: str, image_size: int, download: bool, attribute: str) -> ImageItems:
    from torchvision import datasets

    official = {"train": "train", "val": "valid", "test": "test"}[split]
    try:
        base = datasets.CelebA(str(root), split=official, target_type="attr", download=download)
    except RuntimeError as err:
        raise FileNotFoundError(f"{root}: CelebA not found ({err}); pass --download to fetch it") from None
    names = [n for n in base.attr_names if n]
    if attribute not in names:
        raise ValueError(f"CelebA has no attribute {attribute!r} (valid: {', '.join(names)})")
    column = names.index(attribute)
    return TorchvisionItems(base, (f"not {attribute}", attribute), image_size, label_of=lambda t: int(t[column]))


def _subset(items: ImageItems, indices: list[int]) -> ImageItems:
    return _SubsetItems(items, indices)


class _SubsetItems(ImageItems):
    """A view on some indices of another dataset (keeps its classes and mask flag)."""

    def __init__(self, items: ImageItems, indices: list[int]) -> None:
        super().__init__(items.image_size)
        self.inner, self.indices = items, indices
        self.classes, self.has_masks = items.classes, items.has_masks

    def __len__(self) -> int:
        return len(self.indices)

    def raw(self, index: int):
        return self.inner.raw(self.indices[index])


def _limit(items: ImageItems, count: int | None) -> ImageItems:
    if count is None or count >= len(items):
        return items
    return _subset(items, list(range(count)))
