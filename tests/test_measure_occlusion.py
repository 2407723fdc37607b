"""`asd-explain measure`: the occlusion check (staged blanking equals full forwards of blanked batches) and
which checkpoints each point of the budget measures."""
from __future__ import annotations

import numpy as np
import torch
from _av_tiny import small_model, tiny_corpus_and_store

from asd_explain.data.store import TrackStore
from asd_explain.measure.occlusion import blanked_scores, occlusion_ap
from asd_explain.train.batches import eval_positions
from asd_explain.train.store_batches import StoreTrackSource
from asd_explain.train.validation import FrameScores, score_batches


def test_staged_blanking_equals_full_forward_of_the_blanked_batch(tmp_path_factory):
    _, store = tiny_corpus_and_store(tmp_path_factory)
    torch.manual_seed(0)
    model = small_model()
    # chunks shorter than the tracks and batches of several items: padding and label masks are exercised
    source = StoreTrackSource(TrackStore(store), model.config, chunk_frames=24, batch_frames=72)
    positions = eval_positions(source.num_batches(), 0, 1)
    full: dict = {v: [] for v in (None, *model.modalities)}
    staged: dict = {v: [] for v in full}
    for batch in source.batches(0, positions):
        assert batch["face"].shape[0] > 1
        for variant, scores in blanked_scores(model, batch).items():
            staged[variant].append(scores)
        for variant in full:
            blanked = dict(batch)
            if variant is not None:
                blanked[variant] = torch.zeros_like(batch[variant])
            full[variant].append(score_batches(model, [blanked]))
    for variant in full:
        a, b = FrameScores.concat(full[variant]), FrameScores.concat(staged[variant])
        np.testing.assert_array_equal(a.label, b.label)
        np.testing.assert_allclose(b.score, a.score, atol=1e-6)
        if variant is not None:  # blanking changes the scores: the check can fail
            assert np.abs(a.score - FrameScores.concat(full[None]).score).max() > 1e-5
    result = occlusion_ap(model, store, chunk_frames=24, batch_frames=72, progress=False)
    clean = FrameScores.concat(full[None]).average_precision
    assert abs(result["val_ap"] - clean) < 1e-9
    for m in model.modalities:
        assert abs(result["blanked_ap"][m] - FrameScores.concat(full[m]).average_precision) < 1e-6


def test_points_before_the_last_measure_last_pt_only(tmp_path):
    from asd_explain.measure.plan import MeasureConfig
    from asd_explain.measure.runner import checks_of

    cfg = MeasureConfig(out=str(tmp_path), settings=("paper", "motion"))
    early = [name for name, _, _ in checks_of(cfg, tmp_path / "step275", last_point=False)]
    assert early == ["last evaluate", "last occlusion", "last evidence paper", "last evidence motion"]
    final = [name for name, _, _ in checks_of(cfg, tmp_path / "step1100", last_point=True)]
    assert final == [f"{kind} {check}" for kind in ("best", "last")
                     for check in ("evaluate", "occlusion", "evidence paper", "evidence motion")]
