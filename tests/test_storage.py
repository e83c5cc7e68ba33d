"""State files: atomic replacement, a backup of the last good copy, corrupt files set aside."""

from __future__ import annotations

import json
import logging
import stat

import pytest

from controller.storage import read_json, write_json_atomic, write_text_atomic


def test_write_keeps_the_previous_copy_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "state" / "wall-state.json"
    write_json_atomic(path, {"preset": "overview"})
    write_json_atomic(path, {"preset": "flood"})

    assert json.loads(path.read_text()) == {"preset": "flood"}
    assert json.loads(path.with_suffix(".json.bak").read_text()) == {
        "preset": "overview"
    }
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "wall-state.json",
        "wall-state.json.bak",
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_half_written_file_falls_back_to_the_backup_and_is_set_aside(tmp_path, caplog):
    path = tmp_path / "wall-state.json"
    write_json_atomic(path, {"preset": "overview"})
    write_json_atomic(path, {"preset": "traffic"})
    path.write_text('{"preset": "flo')  # power cut in the middle of a write

    with caplog.at_level(logging.WARNING, "controller.storage"):
        assert read_json(path) == {"preset": "overview"}
    assert "wall-state.json is unreadable" in caplog.text
    assert path.with_suffix(".json.corrupt").read_text() == '{"preset": "flo'

    # The next write does not make the corrupt file the backup of the good copy.
    write_json_atomic(path, {"preset": "bridge"})
    assert read_json(path.with_suffix(".json.bak")) == {"preset": "overview"}


def test_missing_file_and_missing_backup_give_none(tmp_path):
    assert read_json(tmp_path / "nothing.json") is None


def test_failed_write_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "presets.json"
    write_json_atomic(path, {"presets": {"a": 1}})
    with pytest.raises(TypeError):
        write_json_atomic(path, {"presets": {"a": object()}})
    with pytest.raises(TypeError):
        write_text_atomic(path, 42)  # type: ignore[arg-type]
    assert read_json(path) == {"presets": {"a": 1}}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["presets.json"]


def test_text_gets_the_mode_asked_for(tmp_path):
    path = tmp_path / "config.txt"
    write_text_atomic(path, "hdmi_group=2\n", mode=0o644)
    assert path.read_text() == "hdmi_group=2\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
