"""Start-up removes the temporary files of interrupted writes, and nothing else, on a real folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ocrwatch.outputs.atomic import remove_leftovers, write_atomic

KILLED_WRITE = """
import resource, signal, sys
from pathlib import Path
from ocrwatch.outputs.atomic import write_atomic
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; by default it kills, as SIGKILL does
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
write_atomic(Path(sys.argv[1]), b"x" * 1_000_000)
"""


def interrupted_write(target: Path) -> Path:
    """Write `target` in a process that the kernel kills mid-write; the temporary file it leaves."""
    before = set(target.parent.iterdir()) if target.parent.exists() else set()
    result = subprocess.run(
        [sys.executable, "-c", KILLED_WRITE, str(target)], capture_output=True, timeout=60, env=os.environ
    )
    assert result.returncode == -signal.SIGXFSZ, result
    (left,) = set(target.parent.iterdir()) - before
    assert not target.exists()
    return left


def test_the_files_of_interrupted_writes_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    left = [
        interrupted_write(out / "scan.png.txt"),
        interrupted_write(out / "2026" / "03" / "receipt.jpg.json"),
        interrupted_write(out / ("long name é" * 10 + ".pdf")),  # the name is cut to 64 characters
    ]
    assert all(path.name.startswith(".") and path.name.endswith(".tmp") for path in left)
    write_atomic(out / "scan.png.json", b"{}")  # a finished write leaves only its file

    assert remove_leftovers(out) == 3
    assert not any(path.exists() for path in left)
    assert (out / "scan.png.json").read_bytes() == b"{}"
    assert remove_leftovers(out) == 0


def test_look_alikes_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    kept = [
        "a.txt.0123abcd.tmp",  # not hidden
        ".a.txt.0123abcg.tmp",  # not hex
        ".a.txt.0123ABCD.tmp",  # token_hex is lower case
        ".a.txt.0123abc.tmp",  # seven digits
        ".a.txt.0123abcde.tmp",  # nine
        ".a.txt.0123abcd.tmp.bak",
        ".a.txt.0123abcd.tmpx",
        ".a.txt.0123abcd.tmp\n",
        "..0123abcd.tmp",  # no name
        "." + "n" * 65 + ".0123abcd.tmp",  # a longer name than write_atomic keeps
        ".a.txt.tmp",
        "upload.png.tmp",
        "index.db",
        "index.db-journal",
    ]
    for name in kept:
        (out / "sub" / name).write_bytes(b"keep")
    (out / ".folder.0123abcd.tmp").mkdir()  # a folder of that name is not a leftover
    (out / ".folder.0123abcd.tmp" / "inside.txt").write_bytes(b"keep")
    removed = out / "sub" / ".a.txt.0123abcd.tmp"
    removed.write_bytes(b"left")

    assert remove_leftovers(out) == 1
    assert not removed.exists()
    assert sorted(path.name for path in (out / "sub").iterdir()) == sorted(kept)
    assert (out / ".folder.0123abcd.tmp" / "inside.txt").exists()


def test_links_are_never_followed_nor_removed(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    theirs = elsewhere / ".theirs.pdf.0123abcd.tmp"  # someone else's temporary file, outside
    theirs.write_bytes(b"not ours")
    (out / "linked").symlink_to(elsewhere, target_is_directory=True)
    (out / ".link.txt.89abcdef.tmp").symlink_to(theirs)  # a link with a leftover's name

    assert remove_leftovers(out) == 0
    assert theirs.read_bytes() == b"not ours"
    assert (out / ".link.txt.89abcdef.tmp").is_symlink()


def test_a_missing_folder_has_no_leftovers(tmp_path: Path) -> None:
    assert remove_leftovers(tmp_path / "not yet created") == 0
