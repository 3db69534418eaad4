"""Files written whole or not at all (`inspector.atomic_file`): a report or span table that cannot be written is one
line naming it, leaves no temporary behind and never half-replaces what was there."""
from __future__ import annotations

import pytest

from index.errors import InvalidQuery
from inspector.atomic_file import write_then_rename
from inspector.contamination.report import save_report


def test_a_report_into_a_missing_folder_is_one_line_naming_it(tmp_path):
    target = tmp_path / "no-such-folder" / "report.json"
    with pytest.raises(InvalidQuery, match=r"cannot write report .*report\.json: No such file or directory"):
        save_report({"items": []}, target)
    assert not target.parent.exists()


def test_a_write_that_fails_halfway_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "spans.parquet"
    target.write_text("the old table")

    def half(partial):
        partial.write_text("half of the new")
        raise OSError(28, "No space left on device")

    with pytest.raises(ValueError, match="No space left on device"):
        write_then_rename(target, half, ValueError)
    assert target.read_text() == "the old table"
    assert [p.name for p in tmp_path.iterdir()] == ["spans.parquet"]
    write_then_rename(target, lambda partial: partial.write_text("new"), ValueError)
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["spans.parquet"]
