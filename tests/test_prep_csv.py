"""AVA / WASD annotation CSV readers: every variant, every bad-row reason with its file and line."""
from __future__ import annotations

import numpy as np
import pytest

from asd_explain.data.ava_csv import annotation_files, match_body_boxes, read_annotations
from data_prep.categories import Categories
from data_prep.prepare import parse_shard, shard_of

HEADER = ("video_id,frame_timestamp,entity_box_x1,entity_box_y1,entity_box_x2,entity_box_y2,label,entity_id,"
          "label_id,instance_id\n")


def _write(path, text):
    path.write_text(text)
    return path


def test_official_per_video_file_without_header(tmp_path):
    f = _write(tmp_path / "vidA-activespeaker.csv",
               "vidA,902.02,0.1,0.2,0.3,0.5,NOT_SPEAKING,vidA_0900_0960:1\n"
               "vidA,902.06,0.11,0.2,0.31,0.5,SPEAKING_AUDIBLE,vidA_0900_0960:1\n"
               "vidA,902.02,0.5,0.2,0.7,0.6,SPEAKING_NOT_AUDIBLE,vidA_0900_0960:2\n")
    result = read_annotations([f])
    assert result.rows_read == 3 and result.issues == []
    rows = result.videos["vidA"]
    np.testing.assert_array_equal(rows.timestamps_s, [902.02, 902.06, 902.02])
    np.testing.assert_array_equal(rows.labels, [0, 1, 2])
    np.testing.assert_array_equal(rows.boxes[1], [0.11, 0.2, 0.31, 0.5])
    assert rows.entity_ids == ["vidA_0900_0960:1", "vidA_0900_0960:1", "vidA_0900_0960:2"]
    assert rows.source(2) == (str(f), 3)
    tracks = rows.tracks()
    assert [t.tolist() for t in tracks.values()] == [[0, 1], [2]]


def test_merged_with_header_extra_and_reordered_columns(tmp_path):
    f = _write(tmp_path / "train_orig.csv",
               "entity_id,video_id,frame_timestamp,entity_box_x1,entity_box_y1,entity_box_x2,entity_box_y2,"
               "label,label_id,instance_id,extra\n"
               "b_1:1,b,1.5,0,0,1,1,SPEAKING_AUDIBLE,1,b_1:1:0,zzz\n"
               "b_1:1,b,1.54,0,0,1,1,NOT_SPEAKING,0,b_1:1:1,zzz\n")
    result = read_annotations([f])
    assert result.issues == []
    np.testing.assert_array_equal(result.videos["b"].labels, [1, 0])
    assert result.videos["b"].lines.tolist() == [2, 3]


def test_headerless_ten_columns_is_accepted(tmp_path):
    f = _write(tmp_path / "x.csv", "c,0.5,0.1,0.1,0.2,0.2,NOT_SPEAKING,c_0:1,0,c_0:1:0\n")
    result = read_annotations([f])
    assert result.issues == [] and len(result.videos["c"]) == 1


def test_every_bad_row_is_reported_with_file_line_and_kind(tmp_path):
    f = _write(tmp_path / "v-activespeaker.csv", "\n".join([
        "v,1.0,0.1,0.1,0.2,0.2,NOT_SPEAKING,v:1",          # 1 good
        "v,1.04,0.1,0.1,0.2,0.2,NOT_SPEAKING",              # 2 missing column
        "v,1.08,0.1,0.1,0.2,0.2,TALKING,v:1",               # 3 unknown label
        "v,abc,0.1,0.1,0.2,0.2,NOT_SPEAKING,v:1",           # 4 non-numeric timestamp
        "v,1.12,0.1,0.1,1.2,0.2,NOT_SPEAKING,v:1",          # 5 box outside [0, 1]
        "v,1.16,0.3,0.1,0.2,0.2,NOT_SPEAKING,v:1",          # 6 x2 < x1
        "v,1.0,0.1,0.1,0.2,0.2,SPEAKING_AUDIBLE,v:1",       # 7 duplicate of line 1
        "../etc,1.0,0.1,0.1,0.2,0.2,NOT_SPEAKING,e:1",      # 8 '..' and separator
        "a/b,1.0,0.1,0.1,0.2,0.2,NOT_SPEAKING,e:1",         # 9 path separator
        "v,1.2,0.1,0.1,0.2,0.2,NOT_SPEAKING,",              # 10 empty entity
        "v,nan,0.1,0.1,0.2,0.2,NOT_SPEAKING,v:1",           # 11 NaN timestamp
        "v,1.24,0.1,0.1,0.2,0.2,NOT_SPEAKING,v:1,0,i,extra",  # 12 extra column
        "v,1.28,0.1,0.1,0.2,0.2,NOT_SPEAKING,v:1",          # 13 good
    ]) + "\n")
    result = read_annotations([f])
    got = {(i.row, i.kind) for i in result.issues}
    assert got == {(2, "missing_column"), (3, "unknown_label"), (4, "bad_timestamp"), (5, "bad_box"),
                   (6, "bad_box"), (7, "duplicate_row"), (8, "unsafe_video_id"), (9, "unsafe_video_id"),
                   (10, "empty_entity_id"), (11, "bad_timestamp"), (12, "extra_column")}
    assert all(i.file == str(f) for i in result.issues)
    assert result.rows_read == 13 and result.rows_valid == 2
    assert result.videos["v"].lines.tolist() == [1, 13]
    duplicate = next(i for i in result.issues if i.kind == "duplicate_row")
    assert f"{f}:1" in duplicate.reason
    assert str(duplicate).startswith(f"{f}:7: ")


def test_header_missing_a_column_rejects_every_row(tmp_path):
    f = _write(tmp_path / "val_orig.csv", "video_id,frame_timestamp,entity_box_x1,entity_box_y1,entity_box_x2,"
                                          "entity_box_y2,entity_id\nv,1,0,0,1,1,v:1\nv,2,0,0,1,1,v:1\n")
    result = read_annotations([f])
    assert [(i.row, i.kind) for i in result.issues] == [(2, "missing_column"), (3, "missing_column")]
    assert "'label'" in result.issues[0].reason and result.rows_valid == 0


def test_label_id_must_agree_with_label(tmp_path):
    f = _write(tmp_path / "train_orig.csv", HEADER + "v,1,0,0,1,1,SPEAKING_AUDIBLE,v:1,0,v:1:0\n")
    result = read_annotations([f])
    assert [i.kind for i in result.issues] == ["label_mismatch"]


def test_annotation_files_picks_the_variant(tmp_path):
    per_video = tmp_path / "ann" / "per_video"
    per_video.mkdir(parents=True)
    (per_video / "a-activespeaker.csv").write_text("")
    (per_video / "b-activespeaker.csv").write_text("")
    assert [p.name for p in annotation_files(tmp_path / "ann")] == ["a-activespeaker.csv", "b-activespeaker.csv"]
    (tmp_path / "ann" / "train_orig.csv").write_text(HEADER)
    (tmp_path / "ann" / "train_orig_body.csv").write_text(HEADER)
    assert [p.name for p in annotation_files(tmp_path / "ann", "train")] == ["train_orig.csv"]
    assert [p.name for p in annotation_files(tmp_path / "ann", "train", body=True)] == ["train_orig_body.csv"]
    with pytest.raises(FileNotFoundError, match="not found"):
        annotation_files(tmp_path / "nope")


def test_body_rows_match_face_rows(tmp_path):
    faces = read_annotations([_write(tmp_path / "f.csv", HEADER +
                                     "v,1,0.4,0.1,0.5,0.2,NOT_SPEAKING,v:1,0,a\n"
                                     "v,2,0.4,0.1,0.5,0.2,NOT_SPEAKING,v:1,0,a\n")])
    bodies = read_annotations([_write(tmp_path / "b.csv", HEADER +
                                      "v,2,0.3,0.1,0.6,0.9,NOT_SPEAKING,v:1,0,a\n"
                                      "v,3,0.3,0.1,0.6,0.9,NOT_SPEAKING,v:1,0,a\n")])
    matched, issues = match_body_boxes(faces, bodies)
    assert np.isnan(matched["v"][0]).all()
    np.testing.assert_array_equal(matched["v"][1], [0.3, 0.1, 0.6, 0.9])
    assert [(i.row, i.kind) for i in issues] == [(3, "body_without_face")]


def test_shards_partition_videos_and_parse():
    videos = [f"video{i}" for i in range(200)]
    shards = [shard_of(v, 4) for v in videos]
    assert set(shards) == {0, 1, 2, 3}
    assert shards == [shard_of(v, 4) for v in videos]  # stable
    assert parse_shard("3/4") == (3, 4)
    for bad in ("4/4", "x/2", "1", "-1/3"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)


def test_shard_filter_reads_only_own_videos(tmp_path):
    lines = "".join(f"vid{i},1,0,0,1,1,NOT_SPEAKING,vid{i}:1\n" for i in range(20))
    f = _write(tmp_path / "all.csv", lines)
    parts = [read_annotations([f], lambda v, k=k: shard_of(v, 3) == k) for k in range(3)]
    assert sum(p.rows_read for p in parts) == 20
    assert sorted(v for p in parts for v in p.videos) == sorted(f"vid{i}" for i in range(20))


def test_categories_from_wasd_metadata_and_division(tmp_path):
    meta = _write(tmp_path / "m.csv", "Video,Category,FPS\nG0CArrOND6I_21-49,3,30\nabc_1-2,0,25\n")
    cats = Categories.load(meta)
    assert cats.of("G0CArrOND6I_21-49") == "HVN" and cats.of("abc_1-2") == "OC" and cats.of("zzz") is None
    div = _write(tmp_path / "dataset_division.txt", "# Interview\nh3QmdQeOGLU\n# Police\nXYZ\n")
    cats = Categories.load(div)
    assert cats.of("h3QmdQeOGLU_0-30") == "OC" and cats.of("XYZ_5-9") == "SS"
    synth = _write(tmp_path / "metadata.csv", "video_id,category,fps\nsyn0-0000,FO,25\n")
    assert Categories.load(synth).of("syn0-0000") == "FO"


@pytest.mark.parametrize("body_name", ["{split}_orig_body.csv", "{split}_body_orig.csv"])
def test_wasd_csv_folder_never_confuses_face_body_and_loader_files(tmp_path, body_name):
    """WASD's distributed csv folder: <split>_orig.csv, body CSVs under either name, TalkNet *_loader.csv."""
    folder = tmp_path / "csv"
    folder.mkdir()
    for split in ("train", "val"):
        (folder / f"{split}_orig.csv").write_text(HEADER)
        (folder / body_name.format(split=split)).write_text(HEADER)
        (folder / f"{split}_loader.csv").write_text("entity\t10\t25\t0\t0\n")
    for split in ("train", "val"):
        assert [p.name for p in annotation_files(folder, split)] == [f"{split}_orig.csv"]
        assert [p.name for p in annotation_files(folder, split, body=True)] == [body_name.format(split=split)]
    assert [p.name for p in annotation_files(folder)] == ["train_orig.csv", "val_orig.csv"]
    assert [p.name for p in annotation_files(folder, body=True)] == sorted(
        body_name.format(split=s) for s in ("train", "val"))
    (folder / "val_orig.csv").unlink()  # only train's file left: --split val must not take it
    with pytest.raises(FileNotFoundError, match="split 'val'"):
        annotation_files(folder, "val")
