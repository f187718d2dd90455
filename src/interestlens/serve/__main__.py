"""``python -m interestlens.serve --model DIR [--host H] [--port P] [--workers N] [--config F]``.

The same as ``interestlens serve``; used by the crash test and the load benchmark, which start
the server in a subprocess.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from interestlens.config import load_settings
from interestlens.errors import InterestLensError
from interestlens.serve.server import run_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interestlens.serve")
    parser.add_argument("--model", type=Path, required=True, help="model directory")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None, help="serve.workers")
    parser.add_argument("--config", type=Path, default=None, help="TOML settings file")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(
            args.config,
            overrides={
                "serve.host": args.host,
                "serve.port": args.port,
                "serve.workers": args.workers,
            },
        )
        run_server(args.model, settings)
    except InterestLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
