"""The ``interestlens`` command.

Every command reads settings through :func:`interestlens.config.load_settings` (defaults <
``--config`` TOML < ``INTERESTLENS_*`` environment < options). Any :class:`InterestLensError`
is printed as one line on stderr and the command exits with code 2 — never a traceback.
"""

from __future__ import annotations

import click
import typer
from rich.markup import escape

from interestlens.cli.build import demo, embed, fit
from interestlens.cli.common import app, err, read_id_list, recommender_summary
from interestlens.cli.data import demo_data
from interestlens.cli.evaluate_command import evaluate
from interestlens.cli.export import export_onnx
from interestlens.cli.inspection import clusters, describe, report, verify
from interestlens.cli.privacy import audit, forget, rotate_key
from interestlens.cli.recommend_command import recommend
from interestlens.cli.service import refit, serve
from interestlens.cli.timeline import drift, timeline
from interestlens.errors import InterestLensError

__all__ = ["app", "main", "read_id_list", "recommender_summary"]

# typer >= 0.2x raises usage errors from its own copy of click; catch those too where it has one
_TYPER_CLICK_EXCEPTIONS: tuple[type[Exception], ...] = ()
try:
    from typer._click.exceptions import ClickException as _TyperClickException

    _TYPER_CLICK_EXCEPTIONS = (_TyperClickException,)
except ImportError:  # older typer: it uses click itself, caught above
    pass

# Registered here, in one list, because this order is the order of ``interestlens --help``.
for _command in (
    embed,
    fit,
    demo,
    demo_data,
    clusters,
    report,
    recommend,
    evaluate,
    serve,
    refit,
    describe,
    verify,
    timeline,
    drift,
    forget,
    audit,
    rotate_key,
):
    app.command()(_command)
app.command("export-onnx")(export_onnx)
del _command


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning every known error into one line and exit code 2."""
    try:
        result = app(args=argv, standalone_mode=False)
    except InterestLensError as exc:
        # escaped: '[k_min, k_max]' or an id '[bold]nobody' must print as written
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return 2
    except (click.exceptions.Abort, typer.Abort) as exc:
        if isinstance(exc.__context__, EOFError):
            # click turns an EOFError into Abort: that is a truncated input, not a Ctrl-C
            err.print(
                "[bold red]error:[/] "
                + escape(f"an input ended early ({exc.__context__}); expected a complete file")
                + ". Fix: check the files given (a model directory may be damaged: fit again).",
                highlight=False,
                soft_wrap=True,
            )
            return 2
        err.print("aborted")
        return 130
    except (click.ClickException, *_TYPER_CLICK_EXCEPTIONS) as exc:
        # usage errors (no command, unknown option, missing option): click's own message and
        # exit code 2, never a traceback
        exc.show()
        return exc.exit_code
    except OSError as exc:
        err.print(
            "[bold red]error:[/] "
            + escape(f"{exc.strerror or exc} ({exc.filename or ''})")
            + "; expected a readable input and a writable output path. Fix: check the path "
            "and its permissions.",
            highlight=False,
            soft_wrap=True,
        )
        return 2
    return result if isinstance(result, int) else 0
