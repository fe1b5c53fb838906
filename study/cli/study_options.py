"""The options every `dpl analyze` command takes: STUDY, --tracking-uri, --protocol, --thresholds."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from study.cli.common import UsageExit
from study.cli.options import P, R, tracking_uri_option

if TYPE_CHECKING:
    from study.config import Thresholds

PROTOCOL_CHOICES = ("paper", "init", "matched")


def study_options(fn: Callable[P, R]) -> Callable[P, R]:
    """STUDY argument, --tracking-uri, --protocol, --thresholds."""

    @click.argument("study")
    @tracking_uri_option
    @click.option(
        "--protocol",
        type=click.Choice(PROTOCOL_CHOICES),
        help="Held-out protocol behind structural ICL [default: each trial's headline].",
    )
    @click.option(
        "--thresholds",
        metavar="icl=X,iwl=Y",
        help="Regime thresholds [default: each trial's stored ones, 0.5 and 0.5].",
    )
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return fn(*args, **kwargs)

    return wrapper


def parse_thresholds(text: str | None) -> Thresholds | None:
    """'icl=0.6,iwl=0.4' (either part optional) → Thresholds; None → None (stored ones)."""
    from pydantic import ValidationError

    from study.config import Thresholds

    if text is None:
        return None
    parts: dict[str, float] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key not in ("icl", "iwl"):
            raise UsageExit(f"--thresholds: expected icl=X,iwl=Y, got {item!r}")
        try:
            parts[key] = float(value)
        except ValueError:
            raise UsageExit(f"--thresholds: {key}={value!r} is not a number") from None
    try:
        return Thresholds(**parts)
    except ValidationError as err:
        raise UsageExit(
            f"--thresholds: {err.errors()[0]['loc'][0]}: {err.errors()[0]['msg']}"
        ) from None
