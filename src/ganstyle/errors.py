"""The one exception type users see.

Raise :class:`GanstyleError` for anything the *user* can fix (a bad path, a broken
image, a wrong flag, a missing weights file). The message must name the file or flag
and say what to do. The CLI prints it as one line and exits with status 2; any other
exception is a bug and keeps its traceback.
"""


class GanstyleError(Exception):
    """A user-facing error with an actionable one-line message."""
