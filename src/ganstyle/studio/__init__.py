"""``ganstyle studio``: a local web page over the same API as the command line.

Stylise photos, train GANs and browse runs from a browser. Every job is a ``ganstyle``
CLI command run on a one-worker queue (:mod:`ganstyle.studio.jobs`), built from checked
form fields (:mod:`ganstyle.studio.commands`); everything it touches stays under one work
directory (:mod:`ganstyle.studio.files`). The server (:mod:`ganstyle.studio.app`) needs the
optional packages of ``pip install 'ganstyle[studio]'``.

    from ganstyle.studio import serve
    serve("studio-work", port=8765)          # ganstyle studio --workdir studio-work
"""

from ganstyle.studio.server import BackgroundStudio, serve

__all__ = ["serve", "BackgroundStudio"]
