"""Where a daemon's file is on this host. The index names it by its watched folder's name and the POSIX
path inside (`Place`), the same on every host; this host's config says where each folder is mounted."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ocrwatch.config import Profile
from ocrwatch.index import FileRecord, Place


class Places:
    def __init__(self, profiles: Iterable[Profile]) -> None:
        self._roots = {profile.name: profile.folder for profile in profiles}

    @property
    def roots(self) -> dict[str, str]:
        """Each watched folder's name → its absolute path on this host."""
        return {name: str(root) for name, root in self._roots.items()}

    def place(self, path: str | Path) -> Place | None:
        """The place of `path` (made absolute, not resolved) when a watched folder holds it."""
        absolute = Path(os.path.abspath(path))
        for name, root in self._roots.items():
            if absolute.is_relative_to(root) and absolute != root:
                return Place(name, absolute.relative_to(root).as_posix())
        return None

    def target(self, path: str | Path) -> Place | str:
        """How the index finds the file at `path`: by its place inside a watched folder, else by path."""
        return self.place(path) or os.path.abspath(path)

    def shown(self, record: FileRecord) -> str:
        """A file as a person here knows it: its path on this host when its folder is watched here,
        else `folder:path inside` (another host's folder), or the path `ocrwatch scan` read it at."""
        place = record.place
        if place is None:
            return record.path
        root = self._roots.get(place.folder)
        if root is None:
            return str(place)
        return str(root.joinpath(*PurePosixPath(place.relpath).parts))
