"""Symbolic links in a watched folder, on real links in temporary folders: which are read, the reasons
the others are refused, and that the walk hands every symlinked file on to be judged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ocrwatch.config import FollowLinks, Profile, Settings, WatchFolder, load_settings
from ocrwatch.errors import ConfigError, InputError, LinkOutside, UnreadableFile
from ocrwatch.watch import scanner
from ocrwatch.watch.links import readable_target
from ocrwatch.watch.patterns import Patterns

INSIDE, ANYWHERE, NEVER = FollowLinks.INSIDE, FollowLinks.ANYWHERE, FollowLinks.NEVER


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A watched folder with a file in a sub folder, beside a folder it must not reach into."""
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    (inbox / "sub" / "scan.png").write_bytes(b"inside")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "secret.png").write_bytes(b"outside")
    return inbox


def link(path: Path, target: str | Path) -> Path:
    path.symlink_to(target)
    return path


def refusal(source: Path, root: Path, follow: FollowLinks) -> str:
    with pytest.raises(LinkOutside) as raised:
        readable_target(source, root, follow)
    return str(raised.value)


def test_a_plain_file_is_read_whatever_the_setting(root: Path) -> None:
    for follow in FollowLinks:
        assert readable_target(root / "sub" / "scan.png", root, follow) == root / "sub" / "scan.png"


def test_a_link_inside_the_folder_is_read_at_its_target(root: Path) -> None:
    absolute = link(root / "absolute.png", root / "sub" / "scan.png")
    relative = link(root / "sub" / "relative.png", "scan.png")
    for source in (absolute, relative):
        assert readable_target(source, root, INSIDE) == root / "sub" / "scan.png"
        assert readable_target(source, root, ANYWHERE) == root / "sub" / "scan.png"
        assert refusal(source, root, NEVER) == (
            f"a symbolic link to {root / 'sub' / 'scan.png'}, not followed (follow_symlinks: never)"
        )


def test_a_link_out_of_the_folder_is_refused_with_where_it_leads(root: Path) -> None:
    secret = root.parent / "private" / "secret.png"
    source = link(root / "innocent.png", secret)
    assert refusal(source, root, INSIDE) == (
        f"a symbolic link to {secret}, outside the watched folder {root} (follow_symlinks: inside)"
    )
    assert readable_target(source, root, ANYWHERE) == secret
    assert "follow_symlinks: never" in refusal(source, root, NEVER)


def test_a_link_to_the_services_own_files_is_refused(root: Path) -> None:
    if not Path("/etc/passwd").is_file():
        pytest.skip("no /etc/passwd on this machine")
    source = link(root / "passwd.png", "/etc/passwd")
    assert refusal(source, root, INSIDE) == (
        f"a symbolic link to /etc/passwd, outside the watched folder {root} (follow_symlinks: inside)"
    )


def test_a_symlinked_folder_is_judged_by_where_it_leads(root: Path) -> None:
    private = root.parent / "private"
    link(root / "shared", private)
    assert "outside the watched folder" in refusal(root / "shared" / "secret.png", root, INSIDE)
    link(root / "alias", root / "sub")
    assert readable_target(root / "alias" / "scan.png", root, INSIDE) == root / "sub" / "scan.png"
    assert "follow_symlinks: never" in refusal(root / "alias" / "scan.png", root, NEVER)


def test_dot_dot_tricks_are_judged_by_the_resolved_target(root: Path) -> None:
    # Out of the folder and back in: inside.
    back = link(root / "back.png", "../inbox/sub/scan.png")
    assert readable_target(back, root, INSIDE) == root / "sub" / "scan.png"
    # Into a sub folder, then up past the watched folder.
    up = link(root / "sub" / "up.png", "../../private/secret.png")
    assert "outside the watched folder" in refusal(up, root, INSIDE)
    # A sibling whose name starts like the watched folder's is not inside it.
    (root.parent / "inbox-other").mkdir()
    (root.parent / "inbox-other" / "x.png").write_bytes(b"sibling")
    sibling = link(root / "sibling.png", root.parent / "inbox-other" / "x.png")
    assert "outside the watched folder" in refusal(sibling, root, INSIDE)
    # `..` after a link goes up from the link's target, not back to the watched folder: inbox/x.png
    # exists, but inbox/deep/../x.png is private/x.png.
    (root / "x.png").write_bytes(b"decoy")
    (root.parent / "private" / "deep").mkdir()
    (root.parent / "private" / "x.png").write_bytes(b"outside")
    link(root / "deep", root.parent / "private" / "deep")
    message = refusal(root / "deep" / ".." / "x.png", root, INSIDE)
    assert message.startswith(f"a symbolic link to {root.parent / 'private' / 'x.png'}, outside")


def test_a_link_to_something_other_than_a_file_is_refused(root: Path) -> None:
    folder = link(root / "folder.png", root / "sub")
    assert refusal(folder, root, INSIDE) == f"a symbolic link to {root / 'sub'}, which is not a regular file"
    os.mkfifo(root / "sub" / "pipe")
    pipe = link(root / "pipe.png", root / "sub" / "pipe")
    assert refusal(pipe, root, INSIDE).endswith("which is not a regular file")  # never opened: it would block
    device = link(root / "zero.png", "/dev/zero")
    assert refusal(device, root, ANYWHERE) == "a symbolic link to /dev/zero, which is not a regular file"


def test_a_dangling_link_says_what_is_missing(root: Path) -> None:
    missing = root.parent / "private" / "gone.png"
    source = link(root / "dangling.png", missing)
    chained = link(root / "chained.png", "dangling.png")
    for follow in FollowLinks:
        for path in (source, chained):
            with pytest.raises(UnreadableFile) as raised:
                readable_target(path, root, follow)
            assert str(raised.value) == f"a symbolic link to a file that does not exist: {missing}"
            assert raised.value.transient  # a sync tool may make the link before its target


def test_a_link_loop_is_unreadable(root: Path) -> None:
    itself = link(root / "itself.png", "itself.png")
    link(root / "a.png", "b.png")
    link(root / "b.png", "a.png")
    for source in (itself, root / "a.png"):
        with pytest.raises(UnreadableFile) as raised:
            readable_target(source, root, INSIDE)
        assert str(raised.value) == f"a symbolic link loop: {source} never reaches a file"


def test_a_vanished_file_is_not_called_a_link(root: Path) -> None:
    with pytest.raises(UnreadableFile) as raised:
        readable_target(root / "sub" / "never-there.png", root, INSIDE)
    assert str(raised.value) == "the file disappeared before it could be read"


def test_a_watched_folder_reached_through_a_link_holds_its_own_files(root: Path) -> None:
    """`inside` compares resolved paths: a folder configured through a link is not 'outside' itself."""
    alias = link(root.parent / "inbox-link", root)
    assert readable_target(alias / "sub" / "scan.png", alias, INSIDE) == root / "sub" / "scan.png"
    link(root / "up.png", root.parent / "private" / "secret.png")
    assert "outside the watched folder" in refusal(alias / "up.png", alias, INSIDE)


def test_a_refused_link_is_a_permanent_input_error() -> None:
    assert issubclass(LinkOutside, InputError) and not LinkOutside.transient


# The config key


def test_follow_symlinks_defaults_to_inside_and_each_folder_may_set_its_own(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "follow_symlinks: never\nwatch:\n  - folder: a\n  - folder: b\n    follow_symlinks: anywhere\n"
    )
    first, second = load_settings(tmp_path / "config.yaml").profiles()
    assert (first.settings.follow_symlinks, second.settings.follow_symlinks) == (NEVER, ANYWHERE)
    assert Settings().follow_symlinks is INSIDE
    (tmp_path / "config.yaml").write_text("follow_symlinks: sometimes\n")
    with pytest.raises(ConfigError, match="follow_symlinks: Input should be 'inside', 'anywhere' or 'never'"):
        load_settings(tmp_path / "config.yaml")


def test_the_example_config_names_the_key() -> None:
    example = Path(__file__).resolve().parents[1] / "config.example.yaml"
    assert load_settings(example).follow_symlinks is INSIDE
    assert "follow_symlinks: inside" in example.read_text()


# The walk


def profile(root: Path) -> Profile:
    return Settings(watch=(WatchFolder(folder=root),), output=root.parent / "out").profiles()[0]


def test_the_walk_hands_on_every_symlinked_file_to_be_judged(root: Path) -> None:
    """`Path.is_file()` follows links: a dangling link or a loop used to be dropped without a word."""
    link(root / "outside.png", root.parent / "private" / "secret.png")
    link(root / "dangling.png", root / "gone.png")
    link(root / "loop.png", "loop.png")
    link(root / "folder.png", root / "sub")  # a link to a folder is a folder to os.walk: never descended
    link(root / "shared", root.parent / "private")  # not followed by the walk
    found = {Path(stat.path).name: stat for stat in scanner.walk(Patterns(profile(root)))}
    assert set(found) == {"scan.png", "outside.png", "dangling.png", "loop.png"}
    assert found["outside.png"].size == len(b"outside")  # the target's size, as settling sees it
    assert found["dangling.png"].size == len(str(root / "gone.png"))  # the link's own


def test_stat_still_skips_what_is_neither_a_file_nor_a_link(root: Path) -> None:
    patterns = Patterns(profile(root))
    os.mkfifo(root / "pipe.png")
    assert scanner.stat(patterns, root / "pipe.png") is None
    assert scanner.stat(patterns, root / "gone.png") is None
    assert scanner.stat(patterns, link(root / "text.txt", root / "sub" / "scan.png")) is None  # not wanted
