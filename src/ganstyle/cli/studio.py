"""``ganstyle studio``: a thin layer over :func:`ganstyle.studio.serve`."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser(
        "studio", help="local web page: stylise photos, train GANs, browse runs (needs ganstyle[studio])",
        description="Serve the studio page on this machine. Jobs run one at a time as ganstyle commands; "
                    "everything they read and write stays under --workdir.",
        epilog="examples:\n  ganstyle studio                              # http://127.0.0.1:8765/\n"
               "  ganstyle studio --workdir runs/studio --port 9000\n"
               "  ganstyle studio --host 0.0.0.0 --token SECRET  # reachable from other machines",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; anything but loopback requires a token (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="(default: 8765)")
    p.add_argument("--workdir", default="studio", metavar="DIR",
                   help="folder for uploads, runs and results; created if missing (default: ./studio)")
    p.add_argument("--token", default=None,
                   help="secret every request must carry (generated and printed when --host is not loopback)")
    p.add_argument("--max-upload-mb", type=float, default=20.0, metavar="MB", help="largest upload (default: 20)")
    p.add_argument("--max-pixels", type=int, default=25_000_000, metavar="N",
                   help="largest uploaded image in pixels (default: 25000000)")
    p.set_defaults(func=_studio)


def _studio(args) -> int:
    from ganstyle.errors import GanstyleError
    from ganstyle.studio.server import require_server_packages

    require_server_packages()
    from ganstyle.studio import serve
    from ganstyle.studio.files import UploadLimits

    if not 0 <= args.port <= 65535:
        raise GanstyleError(f"--port {args.port}: must be from 0 to 65535")
    if args.max_upload_mb <= 0 or args.max_pixels <= 0:
        raise GanstyleError("--max-upload-mb and --max-pixels must be positive")
    limits = UploadLimits(max_bytes=int(args.max_upload_mb * 1024 * 1024), max_pixels=args.max_pixels)
    serve(args.workdir, host=args.host, port=args.port, token=args.token, limits=limits)
    return 0
