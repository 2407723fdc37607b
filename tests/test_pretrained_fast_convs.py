"""The published models' temporal / 1x1x1 convs run as 2-D convs and their ReLUs in place without autograd:
the same numbers as the plain Conv3d modules, with and without autograd, and training still back-propagates."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from asd_explain.models.light_asd import LightVisualBlock
from asd_explain.models.lr_asd import LRVisualBlock
from asd_explain.models.pretrained_blocks import conv


@pytest.mark.parametrize("kernel,padding", [((3, 1, 1), (1, 0, 0)), ((5, 1, 1), (2, 0, 0)), (1, 0),
                                            ((1, 3, 3), (0, 1, 1))])
def test_conv_equals_conv3d(kernel, padding):
    torch.manual_seed(0)
    module = nn.Conv3d(6, 8, kernel, 1, padding, bias=True)
    x = torch.randn(2, 6, 9, 5, 7)
    np.testing.assert_allclose(conv(module, x).detach().numpy(), module(x).detach().numpy(), atol=1e-5)


def _plain_light(block: LightVisualBlock, x: torch.Tensor) -> torch.Tensor:
    paths = [torch.relu(getattr(block, f"bn_t_{k}")(getattr(block, f"t_{k}")(
        torch.relu(getattr(block, f"bn_s_{k}")(getattr(block, f"s_{k}")(x)))))) for k in (3, 5)]
    return torch.relu(block.bn_last(block.last(paths[0] + paths[1])))


def _plain_lr(block: LRVisualBlock, x: torch.Tensor) -> torch.Tensor:
    for name in block.order:
        x = torch.relu(getattr(block, name.replace("_", "_norm_"))(getattr(block, name)(x)))
    return x


@pytest.mark.parametrize("builder,plain", [(LightVisualBlock, _plain_light), (LRVisualBlock, _plain_lr)])
def test_visual_blocks_equal_the_plain_conv3d_blocks(builder, plain):
    torch.manual_seed(0)
    block = builder(4, 8, True).eval()
    for module in block.modules():
        if isinstance(module, nn.BatchNorm3d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 4, 11, 16, 16)
    want = plain(block, x).detach().numpy()
    with torch.no_grad():
        np.testing.assert_allclose(block(x).numpy(), want, atol=1e-5)
    np.testing.assert_allclose(block(x).detach().numpy(), want, atol=1e-5)
    block.train()
    x.requires_grad_(True)
    block(x).square().sum().backward()  # no in-place op under autograd
    mine = x.grad.clone()
    x.grad = None
    plain(block, x).square().sum().backward()
    np.testing.assert_allclose(mine.numpy(), x.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dims", [2, 3])
def test_folded_batch_norm_equals_conv_bn_relu_and_steps_aside_for_hooks(dims):
    from asd_explain.models.pretrained_blocks import conv_bn_relu

    torch.manual_seed(0)
    convolution = (nn.Conv3d(3, 5, (1, 3, 3), 1, (0, 1, 1), bias=False) if dims == 3
                   else nn.Conv2d(3, 5, 3, 1, 1, bias=True))
    norm = (nn.BatchNorm3d if dims == 3 else nn.BatchNorm2d)(5, eps=1e-3).eval()
    with torch.no_grad():
        norm.running_mean.uniform_(-0.5, 0.5)
        norm.running_var.uniform_(0.2, 3.0)
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.3, 0.3)
    x = torch.randn(2, 3, 4, 9, 9) if dims == 3 else torch.randn(2, 3, 9, 9)
    want = torch.relu(norm(convolution(x))).detach().numpy()
    with torch.no_grad():
        np.testing.assert_allclose(conv_bn_relu(convolution, norm, x).numpy(), want, rtol=1e-5, atol=1e-6)
        seen = []
        handle = norm.register_forward_hook(lambda _m, _i, out: seen.append(out))
        conv_bn_relu(convolution, norm, x)
        handle.remove()
    assert len(seen) == 1 and (seen[0] < 0).any()  # a hooked norm runs as itself; its output is not ReLU'd in place
    np.testing.assert_allclose(conv_bn_relu(convolution, norm, x).detach().numpy(), want, rtol=1e-5, atol=1e-6)
