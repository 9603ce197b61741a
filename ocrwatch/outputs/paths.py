"""Where one input file's outputs go: a mirror of its place under the watched folder.

Output names keep the input's full file name (`a.jpg.txt`, `a.png.txt`), so inputs that differ only
in their extension never overwrite each other's results. Every path handed out is checked to stay
inside the output folder, because stems come from file names that anyone with write access to the
watched folder chooses, and sub-folders of the output folder may be symlinks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ocrwatch.errors import OutputError


def output_stem(source: Path, root: Path) -> str:
    """The POSIX path of `source` relative to `root`, the folder it was found in.

    Both paths are made absolute and `..` is collapsed, but symlinks are not followed: a file reached
    through a symlink inside the watched folder is named by where it was found.
    """
    absolute_source = Path(os.path.abspath(source))
    absolute_root = Path(os.path.abspath(root))
    try:
        relative = absolute_source.relative_to(absolute_root)
    except ValueError:
        raise OutputError(f"{source} is not inside the watched folder {root}") from None
    if not relative.parts:
        raise OutputError(f"{source} is the watched folder itself, not a file inside it")
    return relative.as_posix()


@dataclass(frozen=True, slots=True)
class OutputPaths:
    """The output files of one input: `<out_dir>/<stem>.txt`, `.json`, `.page-<N>.jpg`, `.pdf`, `.hocr`
    and `.alto.xml`."""

    out_dir: Path
    stem: str

    def __post_init__(self) -> None:
        if "\0" in self.stem:
            raise OutputError(f"output name {self.stem!r} contains a NUL character")
        if PurePosixPath(self.stem).is_absolute():
            raise OutputError(f"output name {self.stem!r} is an absolute path")
        if any(part in ("", ".", "..") for part in self.stem.split("/")):
            raise OutputError(f"output name {self.stem!r} has an empty, '.' or '..' part")

    @property
    def text(self) -> Path:
        return self._inside(f"{self.stem}.txt")

    @property
    def json(self) -> Path:
        return self._inside(f"{self.stem}.json")

    @property
    def pdf(self) -> Path:
        return self._inside(f"{self.stem}.pdf")

    @property
    def hocr(self) -> Path:
        return self._inside(f"{self.stem}.hocr")

    @property
    def alto(self) -> Path:
        return self._inside(f"{self.stem}.alto.xml")

    def annotated(self, page: int) -> Path:
        """The annotated copy of page `page`, counted from 1."""
        if page < 1:
            raise ValueError(f"pages are counted from 1, got {page}")
        return self._inside(f"{self.stem}.page-{page}.jpg")

    def _inside(self, name: str) -> Path:
        """`out_dir / name`, refused if it resolves (through symlinks) outside `out_dir`."""
        path = self.out_dir / name
        if not path.resolve().is_relative_to(self.out_dir.resolve()):
            raise OutputError(f"output path {path} resolves to {path.resolve()}, outside {self.out_dir}")
        return path
