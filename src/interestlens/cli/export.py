"""``interestlens export-onnx``: the configured model as a copyable int8 ONNX directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from interestlens.cli.common import (
    ConfigOption,
    ModelNameOption,
    QuietOption,
    cli_settings,
    print_stats,
)


def export_onnx(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to create for the export.")],
    config: ConfigOption = None,
    encoder_model: ModelNameOption = None,
    float32: Annotated[
        bool, typer.Option("--float32", help="Keep float32 weights (no int8 quantisation).")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Export the encoder's model once to ONNX (needs torch); copy the directory to machines
    without torch and set encoder.model to it (encoder.backend = "onnx")."""
    from interestlens.embed.layout import read_layout
    from interestlens.embed.onnx_export import export_model
    from interestlens.embed.sentence import resolve_model_source
    from interestlens.errors import ParameterError

    settings = cli_settings(config, quiet, **{"encoder.model": encoder_model})
    if settings.encoder.kind == "hashing":
        raise ParameterError(
            "encoder.kind='hashing' has no model to export",
            expected="kind minilm, sentence-transformers or transformers",
            fix="unset encoder.kind or choose a model kind",
        )
    if out_dir.exists():
        raise ParameterError(
            f"--out {out_dir} already exists",
            expected="a path that does not exist yet (the export is written whole, then named)",
            fix="choose a new path or remove the old export",
        )
    source = resolve_model_source(settings.encoder.model)
    plain = settings.encoder.kind == "transformers"
    layout = read_layout(
        source.path,
        pooling=settings.encoder.pooling if plain else None,
        max_tokens=settings.encoder.max_tokens if plain else None,
    )
    export = export_model(
        source,
        out_dir,
        layout,
        quantize=not float32,
        show_progress=settings.encoder.show_progress,
    )
    print_stats(
        "Exported",
        {
            "directory": str(export.path),
            "source": export.source,
            "quantization": export.quantization,
            "mean cosine to torch (probe texts)": export.check.get("mean_cosine"),
            "size (MB)": round(export.model_file.stat().st_size / 1e6, 1),
        },
    )
