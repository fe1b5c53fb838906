"""Options shared by several commands (`--preset/--config/--set`, `--device`, `--tracking-uri`)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from study.trial.device import DEVICE_CHOICES

if TYPE_CHECKING:
    from study.config import TrialConfig

P = ParamSpec("P")
R = TypeVar("R")

PRESETS = (
    "ar_paper",
    "ar_small",
    "bursty_small",
    "paper",
    "reddy2023",
    "reference",
    "small",
    "tiny",
)  # study/presets/*.yaml; checked by a test


PRECISIONS = ("fp32", "tf32", "bf16")  # TrainConfig.precision


def config_options(
    default_preset: str = "small", *, precision: bool = False
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """--preset NAME, --config FILE, --set KEY=VALUE (repeatable); with `precision`, also
    --precision fp32|tf32|bf16, handed on as `--set train.precision=…`."""

    def decorate(fn: Callable[..., R]) -> Callable[..., R]:
        @click.option(
            "--preset", type=click.Choice(PRESETS), default=default_preset, show_default=True
        )
        @click.option(
            "--config", "config_file", type=click.Path(dir_okay=False), help="YAML overrides."
        )
        @click.option(
            "--set", "sets", multiple=True, metavar="KEY=VALUE", help="Dotted override, repeatable."
        )
        @functools.wraps(fn)
        def wrapper(*args: Any, precision: str | None = None, **kwargs: Any) -> R:
            if precision is not None:
                kwargs["sets"] = (*kwargs["sets"], f"train.precision={precision}")
            return fn(*args, **kwargs)

        if not precision:
            return wrapper
        return click.option(
            "--precision",
            type=click.Choice(PRECISIONS),
            help="Matmul precision [default: the config's, fp32]; tf32 and bf16 pay on a GPU.",
        )(wrapper)

    return decorate


tracking_uri_option = click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    help="MLflow tracking URI [default: sqlite under ./mlruns].",
)


def store_options(fn: Callable[P, R]) -> Callable[P, R]:
    """--device auto|cpu|cuda, --tracking-uri URI."""

    @click.option("--device", type=click.Choice(DEVICE_CHOICES), default="auto", show_default=True)
    @tracking_uri_option
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        return fn(*args, **kwargs)

    return wrapper


def load_trial_config(preset: str, config_file: str | None, sets: Iterable[str]) -> TrialConfig:
    from study.presets import build_config

    return build_config(preset, config_file, sets, source=config_file or "--set")


slice_option = click.option(
    "--slice",
    "slice_at",
    metavar="KEY=V1,V2,…",
    help="Also draw the map fitted over x, y and KEY, at these values of KEY [default: for a "
    "study sampled in 3-D, its third axis at its low, middle and high bound].",
)
