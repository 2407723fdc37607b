"""The comparison progress journal: resume, a line cut by a crash, a journal of other settings set aside."""
from __future__ import annotations

from asd_explain.explain.journal import RecordJournal


def test_records_come_back_in_a_new_journal_with_the_same_fingerprint(tmp_path):
    path = tmp_path / "out" / "progress.jsonl"
    first = RecordJournal(path, "abc")
    assert first.load() == {}
    first.append(0, "se", {"ins": 0.5})
    first.append(1, "gradcam", {"ins": 0.25, "seconds": 2.0})
    assert RecordJournal(path, "abc").load() == {(0, "se"): {"ins": 0.5}, (1, "gradcam"): {"ins": 0.25, "seconds": 2.0}}


def test_a_cut_last_line_keeps_the_lines_before_it(tmp_path):
    path = tmp_path / "progress.jsonl"
    journal = RecordJournal(path, "abc")
    journal.append(0, "se", {"ins": 0.5})
    with path.open("a") as handle:
        handle.write('{"fingerprint": "abc", "batch": 1, "meth')
    assert RecordJournal(path, "abc").load() == {(0, "se"): {"ins": 0.5}}


def test_a_journal_of_other_settings_is_set_aside(tmp_path):
    path = tmp_path / "progress.jsonl"
    RecordJournal(path, "old").append(0, "se", {"ins": 0.5})
    assert RecordJournal(path, "new").load() == {}
    assert not path.exists()
    assert len(list(tmp_path.glob("progress.*.old.jsonl"))) == 1
