"""The overwrite rule, one function for every command that writes a user-named output.

A command refuses an existing output file unless ``overwrite`` (``--overwrite``) is given;
even then it never writes to a path that is one of its inputs. A folder where a file is
expected, or a file where a folder is expected, is an error too. Each case is one line
naming the flag and the path. Run directories follow :mod:`ganstyle.io.rundir` instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from ganstyle.errors import GanstyleError


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output(path: str | os.PathLike, *, flag: str = "--out", overwrite: bool = False,
                 inputs: Iterable[str | os.PathLike] = (), folder: bool = False) -> Path:
    """Return ``path`` as a Path if the command may write it, else raise a one-line :class:`GanstyleError`.

    ``folder=True``: the output is a folder of files; an existing non-empty folder needs ``overwrite``.
    """
    out = Path(path).expanduser()
    for source in inputs:
        source = Path(source).expanduser()
        if _same_path(out, source) or out.resolve() == source.resolve():
            raise GanstyleError(f"{flag} {path}: is one of this command's inputs; choose another output")
    if folder:
        if out.exists() and not out.is_dir():
            raise GanstyleError(f"{flag} {path}: is a file, but a folder is expected here")
        if out.is_dir() and any(out.iterdir()) and not overwrite:
            raise GanstyleError(f"{flag} {path}: folder exists and is not empty; pass --overwrite to write into it")
        return out
    if out.is_dir():
        raise GanstyleError(f"{flag} {path}: is a folder, but a file name is expected here")
    if out.exists() and not overwrite:
        raise GanstyleError(f"{flag} {path}: already exists; pass --overwrite to replace it")
    if out.parent.exists() and not out.parent.is_dir():
        raise GanstyleError(f"{flag} {path}: {out.parent} is a file, not a folder")
    return out
