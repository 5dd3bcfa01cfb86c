"""A file's stamp: what tells that a file was replaced or written since it was last looked at, without reading it.

Inode, size, modification and change times. The change time (ctime) cannot be set back by a program, so a file
rewritten and given its old modification time still gets a new stamp. Used wherever flowcamp keeps something it
derived from a file (settings read, a warehouse verified or opened, a made-up marker file) until the file changes.
"""

from __future__ import annotations

import os


def file_stamp(path) -> tuple[int, int, int, int] | None:
    """(inode, size, mtime_ns, ctime_ns) of ``path``, or None if it is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
