"""Image classifiers: the ResNet output-stride option (map size, weights untouched, defaults, old checkpoints)
and why the shapes recipe needs it (a 4x4 map cannot point at a 31-44 px object in a 128 px image)."""
import numpy as np
import pytest
import torch
import torchvision
from click.testing import CliRunner

from asd_explain import cli as cli_package
from asd_explain.cli import registry
from asd_explain.cli.main import cli
from asd_explain.config import load_config
from asd_explain.image.models import (
    CHECKPOINT_FORMAT,
    build_classifier,
    default_output_stride,
    load_classifier,
    set_output_stride,
)
from asd_explain.image.recipe import ImageRunConfig
from asd_explain.image.shapes import make_shapes_sample
from asd_explain.metrics.pointing import coarse_map_pointing
from asd_explain.se import SECapture
from asd_explain.train.checkpoint import save_checkpoint_file

registry.register_commands(cli, cli_package)


def se_map_shape(model: torch.nn.Module, size: int) -> tuple[int, ...]:
    model.eval()
    with torch.no_grad(), SECapture({"se": model.se_explain}, outputs=True) as capture:
        logits = model(torch.zeros(1, 3, size, size))
    assert logits.shape[0] == 1 and logits.dim() == 2
    return tuple(capture.outputs["se"].shape)


@pytest.mark.parametrize("arch, channels, size",
                         [("resnet18", 512, 128), ("resnet18", 512, 224), ("resnet50", 2048, 64)])
def test_output_stride_16_doubles_the_explained_map(arch, channels, size):
    assert se_map_shape(build_classifier(arch, 6, output_stride=32), size) == (1, channels, size // 32, size // 32)
    assert se_map_shape(build_classifier(arch, 6, output_stride=16), size) == (1, channels, size // 16, size // 16)


def test_output_stride_leaves_every_weight_shape_and_torchvision_weights_loadable():
    reference = torchvision.models.resnet18(weights=None, num_classes=6)
    plain16 = build_classifier("resnet18", 6, se=False, output_stride=16)
    want = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in plain16.state_dict().items()} == want
    plain16.load_state_dict(reference.state_dict())  # strict: same keys, same shapes
    with_se = build_classifier("resnet18", 6, se=True, output_stride=16).state_dict()
    assert {k: tuple(v.shape) for k, v in with_se.items() if not k.startswith("se_explain.")} == want
    # only layer4's first block changed, and only its strides
    strides = {n: m.stride for n, m in plain16.named_modules() if isinstance(m, torch.nn.Conv2d)}
    assert strides["layer4.0.conv1"] == (1, 1) and strides["layer4.0.downsample.0"] == (1, 1)
    assert strides["layer3.0.conv1"] == (2, 2) and strides["conv1"] == (2, 2)
    assert sum(s == (2, 2) for s in strides.values()) == 5  # conv1 + layer2/3 (conv1, shortcut)


def test_defaults_and_errors():
    assert default_output_stride("resnet18") == 16 and default_output_stride("resnet50") == 16
    assert default_output_stride("mobilenet_v3_small") == 32
    assert ImageRunConfig().model.output_stride is None  # resolved per arch at train time
    with pytest.raises(ValueError, match="ResNets"):
        build_classifier("mobilenet_v3_small", 6, output_stride=16)
    with pytest.raises(ValueError, match="one of"):
        set_output_stride(torchvision.models.resnet18(), 8)


def test_checkpoint_from_before_the_option_loads_at_stride_32(tmp_path):
    model = build_classifier("resnet18", 6, output_stride=32)
    config = {"data": {"dataset": "shapes", "image_size": 128},
              "model": {"arch": "resnet18", "se": True, "reduction": 16}}  # no output_stride key
    save_checkpoint_file({"format": CHECKPOINT_FORMAT, "config": config, "num_classes": 6,
                          "model": model.state_dict()}, tmp_path / "old.pt")
    loaded, _ = load_classifier(tmp_path / "old.pt")
    assert se_map_shape(loaded, 128) == (1, 512, 4, 4)


def test_cli_writes_the_resolved_output_stride(tmp_path):
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text("data: {image_size: 32, train_count: 8, val_count: 4}\n"
                    "train: {epochs: 1, batch_size: 8, device: cpu}\n")
    runner = CliRunner()
    for flag, expected in (([], 16), (["--output-stride", "32"], 32)):
        out = tmp_path / f"run{expected}"
        result = runner.invoke(cli, ["image", "train", "--config", str(tiny), *flag, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert load_config(out / "config.yaml", ImageRunConfig).model.output_stride == expected
        model, ckpt = load_classifier(out / "checkpoint.pt")
        assert ckpt["config"]["model"]["output_stride"] == expected
        assert se_map_shape(model, 128)[-1] == 128 // expected


def test_a_4x4_map_cannot_point_at_shapes_objects_but_an_8x8_map_can():
    """The best coarse map there is (the object's area per cell), upsampled as the SE map is (bicubic):
    at 4x4 its maximum misses most objects; at 8x8 (output stride 16 at 128 px) it hits them all."""
    samples = [make_shapes_sample(i, split="test") for i in range(140)]
    masks = torch.from_numpy(np.stack([s.mask for s in samples if s.has_object]))

    def ideal_pointing(cells: int) -> float:
        return coarse_map_pointing(masks, cells).float().mean().item()

    assert ideal_pointing(4) < 0.75
    assert ideal_pointing(8) >= 0.98
