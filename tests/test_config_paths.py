"""Watched folders and the folders written to are resolved once, when the config loads: a path found
under a folder later is spelled the same wherever it is compared (the index key, the queue row)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ocrwatch.config import Profile, load_settings
from ocrwatch.errors import ConfigError
from ocrwatch.watch import scanner
from ocrwatch.watch.patterns import Patterns


def profiles_from(config: Path, text: str) -> list[Profile]:
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text)
    return load_settings(config).profiles()


def test_dot_dot_in_the_config_is_resolved(tmp_path: Path) -> None:
    (tmp_path / "scans").mkdir()
    (profile,) = profiles_from(
        tmp_path / "etc" / "config.yaml",
        "output: ../out\nwatch:\n  - folder: ../scans\n    on_success: move\n    done: ../done/./x/..\n"
        "    on_failure: move\n    failed: ../failed\n",
    )
    settings = profile.settings
    assert profile.folder == tmp_path / "scans"
    assert (settings.output, settings.done, settings.failed) == (
        tmp_path / "out",
        tmp_path / "done",
        tmp_path / "failed",
    )
    assert profile.own_folders == (tmp_path / "out", tmp_path / "done", tmp_path / "failed")
    assert profile.name == "scans"  # the base name: the same on every host that mounts it


def test_a_symlinked_folder_is_named_by_its_target(tmp_path: Path) -> None:
    real, outputs = tmp_path / "real", tmp_path / "real-out"
    real.mkdir()
    outputs.mkdir()
    (tmp_path / "link").symlink_to(real)
    (tmp_path / "out-link").symlink_to(outputs)
    (profile,) = profiles_from(tmp_path / "config.yaml", "watch:\n  - folder: link\n    output: out-link\n")
    assert profile.folder == real
    assert profile.settings.output == outputs


def test_files_found_under_the_folder_keep_the_spelling_the_index_uses(tmp_path: Path) -> None:
    """The pipeline keys a file by `os.path.abspath`; the queue row by the path the walk found.
    With `..` left in the folder the two differed, and the row stayed `processing`."""
    (tmp_path / "scans" / "sub").mkdir(parents=True)
    (tmp_path / "scans" / "sub" / "a.png").write_bytes(b"png")
    (tmp_path / "link").symlink_to(tmp_path / "scans")
    for folder in ("../scans", "../link"):
        (profile,) = profiles_from(tmp_path / "etc" / "config.yaml", f"watch:\n  - folder: {folder}\n")
        (found,) = scanner.walk(Patterns(profile))
        assert found.path == os.path.abspath(found.path) == str(tmp_path / "scans" / "sub" / "a.png")


def test_a_watch_entrys_own_folders_are_resolved_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Overrides reach a profile through `model_copy`, which does not validate: they are resolved in
    the watch entry itself."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (profile,) = profiles_from(
        tmp_path / "config.yaml", "watch:\n  - folder: ~/scans/../inbox\n    output: ~/out\n"
    )
    assert profile.folder == tmp_path / "home" / "inbox"
    assert profile.settings.output == tmp_path / "home" / "out"


def test_folders_that_nest_through_a_symlink_are_refused(tmp_path: Path) -> None:
    (tmp_path / "scans" / "inner").mkdir(parents=True)
    (tmp_path / "inner-link").symlink_to(tmp_path / "scans" / "inner")
    with pytest.raises(ConfigError, match=r"inside .* watched folders must not nest"):
        profiles_from(tmp_path / "config.yaml", "watch:\n  - folder: scans\n  - folder: inner-link\n")


def test_a_symlink_loop_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(ConfigError, match=r"watch\.0\.folder: .*loop"):
        profiles_from(tmp_path / "config.yaml", "watch:\n  - folder: loop/scans\n")
