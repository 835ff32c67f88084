"""The saatrial command line. Each command parses arguments and calls one function."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="saatrial",
    help="Run a paediatric SAA immunosuppression +/- UC-MSC trial: validate, analyse, report.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """saatrial: trial data, clinical rules, statistics and the report."""


@app.command("version")
def version_cmd() -> None:
    """Print the saatrial version."""
    from saatrial import __version__

    typer.echo(__version__)


# --- commands are added below this line, one function each ---
