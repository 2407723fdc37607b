"""``asd-prep ava --time-offset``: AVA videos cut to the annotated segment (annotation time 900 s = their
first frame); without the option the run says the videos look pre-cut and how to rerun."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from asd_explain.data.store import TrackStore
from data_prep.cli import cli
from data_prep.commands import ava as ava_command

cli.add_command(ava_command.command)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from data_prep.synth import generate_corpus

    return generate_corpus(tmp_path_factory.mktemp("synth"), preset="tiny", videos=2, seed=13, workers=1,
                           progress=False)


def shifted_annotations(corpus, out, offset_s: float):
    out.mkdir()
    for path in sorted((corpus / "annotations" / "per_video").glob("*.csv")):
        table = pd.read_csv(path, header=None)
        table[1] = (table[1] + offset_s).round(6)
        table.to_csv(out / path.name, header=False, index=False)
    return out


def prepare(corpus, annotations, out, *extra):
    result = CliRunner().invoke(cli, ["ava", "--videos", str(corpus / "videos"), "--annotations", str(annotations),
                                      "--out", str(out), "--quiet", *extra])
    assert result.exit_code == 0, result.output
    return result.output


def test_precut_videos_are_detected_and_time_offset_fixes_them(corpus, tmp_path):
    shifted = shifted_annotations(corpus, tmp_path / "shifted", 900.0)
    output = prepare(corpus, shifted, tmp_path / "no_offset")
    assert "0 stored" in output and "past_video_end" in output
    assert "videos look cut to the 900-1800 s segment" in output and "rerun with --time-offset 900" in output
    prepare(corpus, shifted, tmp_path / "offset", "--time-offset", "900")
    prepare(corpus, corpus / "annotations" / "per_video", tmp_path / "plain")
    plain, offset = TrackStore(tmp_path / "plain"), TrackStore(tmp_path / "offset")
    assert plain.entity_ids and sorted(plain.entity_ids) == sorted(offset.entity_ids)
    for entity in plain.entity_ids:
        a, b = plain.read(entity), offset.read(entity)
        np.testing.assert_allclose(b.timestamps_s, a.timestamps_s + 900.0, atol=1e-6)  # annotation times kept
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.face, b.face)
        np.testing.assert_array_equal(a.body, b.body)
        np.testing.assert_array_equal(a.audio, b.audio)
        np.testing.assert_array_equal(a.frame_indices, b.frame_indices)
    assert offset.manifest["settings"]["time_offset_s"] == 900.0
