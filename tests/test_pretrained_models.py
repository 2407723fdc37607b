"""The toolkit's Light-ASD and LR-ASD against the authors' own outputs (``reference_io.pt``), SE at init,
LR-ASD's native fusion gate, and one-line errors for bad weights files.

Needs the published weights in ``../shared/weights`` (a sibling of the repo root) or a folder named by
``ASD_EXPLAIN_WEIGHTS``; skips with the reason otherwise.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from asd_explain.models.light_asd import LightASD
from asd_explain.models.lr_asd import LRASD, modality_gate_shares
from asd_explain.models.pretrained_model import freeze_except_se
from asd_explain.models.weights_file import WeightsError, load_published

MODELS = {"light-asd": (LightASD, "pretrain_AVA_CVPR.model"), "lr-asd": (LRASD, "pretrain_AVA.model")}


def weights_folder() -> Path:
    env = os.environ.get("ASD_EXPLAIN_WEIGHTS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "weights"


def published(name: str) -> tuple[Path, Path]:
    folder = weights_folder() / name
    weights, reference = folder / MODELS[name][1], folder / "reference_io.pt"
    if not weights.is_file() or not reference.is_file():
        pytest.skip(f"published {name} weights / reference_io.pt not found in {folder} "
                    "(put them in ../shared/weights or set ASD_EXPLAIN_WEIGHTS)")
    return weights, reference


@pytest.fixture(scope="module", params=list(MODELS))
def case(request):
    torch.set_num_threads(1)
    weights, reference = published(request.param)
    model = load_published(MODELS[request.param][0](), weights).eval()
    ref = torch.load(reference, weights_only=True)
    return request.param, model, ref, weights


def run_stages(model, ref: dict) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        face = model.forward_face(model.preprocessing.normalise_faces(ref["faces_uint8"]))
        audio = model.forward_audio(ref["mfcc"])
        av = model.forward_temporal(model.forward_fusion({"audio": audio, "face": face}))
        return {"visual_embedding": face, "audio_embedding": audio, "av_features": av.reshape(-1, av.shape[-1]),
                "logits": model.forward_head(av).reshape(-1, 2)}


def test_reproduces_reference_io(case) -> None:
    _, model, ref, _ = case
    out = run_stages(model, ref)
    for key in ("audio_embedding", "visual_embedding", "av_features", "logits"):
        assert out[key].shape == ref[key].shape, key
        torch.testing.assert_close(out[key], ref[key], atol=1e-4, rtol=0, msg=key)


def test_forward_and_face_layouts_agree(case) -> None:
    _, model, ref, _ = case
    faces = model.preprocessing.normalise_faces(ref["faces_uint8"][:, :12])
    mfcc = ref["mfcc"][:, :48]
    with torch.no_grad():
        base = model(face=faces, audio=mfcc)
        assert base["logits"].shape == (1, 12, 2) and base["aux_logits"]["face"].shape == (1, 12, 2)
        for layout in (faces.unsqueeze(2), faces.unsqueeze(1)):  # (B, T, 1, H, W), (B, 1, T, H, W)
            torch.testing.assert_close(model(face=layout, audio=mfcc)["logits"], base["logits"], atol=0, rtol=0)
    with pytest.raises(ValueError, match="MFCC"):
        model.forward_audio(mfcc[..., :12])


@pytest.mark.parametrize("audio_squeeze", ["frame", "sample"])
def test_se_at_init_leaves_outputs_unchanged(case, audio_squeeze: str) -> None:
    name, _, ref, weights = case
    with_se = load_published(MODELS[name][0](se=True, audio_squeeze=audio_squeeze), weights).eval()
    plain = run_stages(load_published(MODELS[name][0](), weights).eval(), ref)
    blocks = with_se.se_blocks()
    assert sorted(blocks) == ["audio", "face", "fusion"]
    gates: dict[str, torch.Tensor] = {}
    handles = [block.register_forward_hook(lambda m, args, _out, n=name: gates.__setitem__(n, m.gate(args[0])))
               for name, block in blocks.items()]
    out = run_stages(with_se, ref)
    for handle in handles:
        handle.remove()
    torch.testing.assert_close(out["logits"], plain["logits"], atol=1e-5, rtol=0)
    torch.testing.assert_close(out["logits"], ref["logits"], atol=1e-4, rtol=0)
    assert gates["face"].shape == (1, 128, 50)
    assert gates["fusion"].shape == (1, 256, 50)
    assert gates["audio"].shape == ((1, 128, 50) if audio_squeeze == "frame" else (1, 128))
    for gate in gates.values():
        assert torch.equal(gate, torch.ones_like(gate))


def test_freeze_except_se_trains_only_se(case) -> None:
    name, _, ref, weights = case
    model = load_published(MODELS[name][0](se=True), weights)
    trainable = freeze_except_se(model)
    se_ids = {id(p) for p in model.se.parameters()}
    assert {id(p) for p in trainable} == se_ids
    assert all(p.requires_grad == (id(p) in se_ids) for p in model.parameters())
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("se.")}
    model.train()
    assert not model.visual_encoder.training and not model.temporal.training and model.se.training
    optimiser = torch.optim.SGD(trainable, lr=1.0)
    faces = model.preprocessing.normalise_faces(ref["faces_uint8"][:, :8])
    for _ in range(2):  # fc2 starts at zero: the first step moves fc2, the second also fc1
        optimiser.zero_grad()
        model(face=faces, audio=ref["mfcc"][:, :32])["logits"][..., 1].sum().backward()
        optimiser.step()
    after = model.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())  # weights and BN running stats
    with torch.no_grad():  # the trained gates now change the output
        assert not torch.allclose(model.eval()(face=faces, audio=ref["mfcc"][:, :32])["logits"],
                                  load_published(MODELS[name][0](), weights).eval()(
                                      face=faces, audio=ref["mfcc"][:, :32])["logits"])
    assert all(b.fc2.weight.abs().sum() > 0 for b in model.se_blocks().values())


def test_lr_asd_native_modality_gate_uses_the_published_weights() -> None:
    weights, reference = published("lr-asd")
    model = load_published(LRASD(), weights).eval()
    ref = torch.load(reference, weights_only=True)
    raw = torch.load(weights, map_location="cpu", weights_only=True)
    embeddings = {"audio": ref["audio_embedding"], "face": ref["visual_embedding"]}
    with torch.no_grad():
        gate = model.native_modality_gate(embeddings)
        fused = model.forward_fusion(embeddings)
    assert gate.shape == (1, 50, 256)
    assert gate.min() > 0 and gate.max() < 1
    joint = torch.cat([ref["audio_embedding"], ref["visual_embedding"]], dim=2)  # by hand, from the file
    pre = F.conv1d(joint.transpose(1, 2), raw["model.fusion.attention.weight"])
    pre = F.batch_norm(pre, raw["model.fusion.bn.running_mean"], raw["model.fusion.bn.running_var"],
                       raw["model.fusion.bn.weight"], raw["model.fusion.bn.bias"], eps=1e-3)
    torch.testing.assert_close(gate, torch.sigmoid(pre).transpose(1, 2), atol=1e-6, rtol=0)
    torch.testing.assert_close(fused, joint * gate, atol=1e-6, rtol=0)
    shares = modality_gate_shares(gate)
    assert shares["audio"].shape == (1, 50)
    assert torch.all((shares["audio_share"] > 0) & (shares["audio_share"] < 1))
    assert not torch.allclose(shares["audio"], shares["face"])  # the halves are weighted differently


# ---- bad weights files: one line naming the file --------------------------------------------------------
def test_wrong_architecture_names_the_file_and_keys() -> None:
    weights, _ = published("lr-asd")
    with pytest.raises(WeightsError) as err:
        load_published(LightASD(), weights)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(weights))
    assert "not a light-asd state dict (the file fits lr-asd)" in message
    assert "missing keys model.visualEncoder.block1.s_3.weight" in message
    assert "unexpected keys" in message and "model.visualEncoder.block1.s_1.weight" in message


def test_shape_mismatch_is_reported(tmp_path: Path) -> None:
    weights, _ = published("light-asd")
    state = torch.load(weights, map_location="cpu", weights_only=True)
    state["lossAV.FC.weight"] = torch.zeros(3, 128)
    bad = tmp_path / "bad_shape.model"
    torch.save(state, bad)
    with pytest.raises(WeightsError, match=r"shape mismatches .*lossAV\.FC\.weight \(3, 128\) vs \(2, 128\)"):
        load_published(LightASD(), bad)


def test_truncated_and_foreign_files(tmp_path: Path) -> None:
    weights, _ = published("light-asd")
    truncated = tmp_path / "truncated.model"
    truncated.write_bytes(weights.read_bytes()[:1_000_000])
    with pytest.raises(WeightsError) as err:
        load_published(LightASD(), truncated)
    assert str(err.value).startswith(f"{truncated}: truncated or unreadable") and "\n" not in str(err.value)
    listing = tmp_path / "list.model"
    torch.save([1, 2, 3], listing)
    with pytest.raises(WeightsError, match=f"^{listing}: not a state dict"):
        load_published(LightASD(), listing)
    text = tmp_path / "text.model"
    text.write_text("hello")
    with pytest.raises(WeightsError, match=f"^{text}: "):
        load_published(LightASD(), text)


def test_sha256_mismatch(tmp_path: Path) -> None:
    weights, _ = published("light-asd")
    with pytest.raises(WeightsError) as err:
        load_published(LightASD(), weights, sha256="0" * 64)
    assert str(err.value).startswith(f"{weights}: sha256 mismatch") and "\n" not in str(err.value)


def test_se_blocks_gate_the_documented_axes() -> None:
    """Random weights, trained-looking gates: each block scales its map along the axes the docs name."""
    torch.manual_seed(0)
    model = LightASD(se=True).eval()
    for block in model.se_blocks().values():
        torch.nn.init.normal_(block.fc2.weight, std=0.5)
    faces, mfcc = torch.randn(2, 6, 112, 112), torch.randn(2, 24, 13)
    se = model.se_blocks()
    with torch.no_grad():
        spec = model.audio_encoder.feature_map(mfcc.unsqueeze(1).transpose(2, 3))  # (B, C, F, T)
        pooled = spec.mean(dim=2).transpose(1, 2)  # (B, T, C): one squeeze per audio frame
        gate = 2 * torch.sigmoid(se["audio"].fc2(torch.relu(se["audio"].fc1(pooled)))).transpose(1, 2)
        expected_audio = (spec * gate[:, :, None, :]).mean(dim=2).transpose(1, 2)
        torch.testing.assert_close(model.forward_audio(mfcc), expected_audio)
        maps = model.visual_encoder.feature_map(faces.unsqueeze(1))  # (B, C, T, 14, 14)
        assert maps.shape == (2, 128, 6, 14, 14)
        pooled = maps.mean(dim=(3, 4)).transpose(1, 2)
        gate = 2 * torch.sigmoid(se["face"].fc2(torch.relu(se["face"].fc1(pooled)))).transpose(1, 2)
        expected_face = (maps * gate[..., None, None]).amax(dim=(3, 4)).transpose(1, 2)
        torch.testing.assert_close(model.forward_face(faces), expected_face)
        a, v = expected_audio, expected_face
        gate = 2 * torch.sigmoid(se["fusion"].fc2(torch.relu(se["fusion"].fc1(torch.cat([a, v], dim=2)))))
        torch.testing.assert_close(model.forward_fusion({"audio": a, "face": v}),
                                   a * gate[..., :128] + v * gate[..., 128:])
