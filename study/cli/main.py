"""`dpl`: the Dual Process Lab command line. Heavy libraries load inside the commands."""

from __future__ import annotations

import click

from study import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dpl")
def cli() -> None:
    """Map when a transformer solves a task in context (ICL) and when in its weights (IWL)."""


def _register() -> None:
    from study.cli import analyze, bench, data, sweep, sweep_cluster, train, ui

    for module in (train, data, ui, sweep, sweep_cluster, analyze, bench):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()
