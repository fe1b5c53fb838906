"""Compose a `TrialConfig` from a preset, a YAML file and `--set key=value` overrides.

Every mistake becomes a `ConfigError` naming the key, the value and what is allowed; the CLI turns
it into exit code 2.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from study.config import TrialConfig
from study.dotted import nest
from study.errors import ConfigError, validation_error

# the package's own folder (what `importlib.resources.files("study")` gives a package on disk),
# as a Path: `read_yaml` reads paths
PRESET_DIR = Path(__file__).parent / "presets"


def preset_names() -> list[str]:
    return sorted(
        p.name.removesuffix(".yaml") for p in PRESET_DIR.iterdir() if p.name.endswith(".yaml")
    )


def preset_overrides(name: str) -> dict[str, Any]:
    """The nested overrides of a preset, with its `inherit:` chain resolved."""
    names = preset_names()
    if name not in names:
        allowed = f"allowed: {', '.join(names)}"
        raise ConfigError("preset", name, allowed, message=f"preset: got {name!r}; {allowed}")
    tree = read_yaml(PRESET_DIR / f"{name}.yaml")
    parent = tree.pop("inherit", None)
    return deep_merge(preset_overrides(parent), tree) if parent else tree


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_assignment(text: str) -> tuple[str, Any]:
    """`'task.zipf_exponent=1.5'` → `('task.zipf_exponent', 1.5)`; the value is read as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(
            "--set",
            text,
            "dotted.key=value",
            message=f"--set: got {text!r}; expected dotted.key=value",
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as err:
        raise ConfigError(
            f"--set {key}",
            raw,
            f"a YAML value ({err})",
            message=f"--set {key}: value {raw!r} is not valid YAML ({err})",
        ) from None
    return key.strip(), value


class _UniqueKeys(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys without a word; a spec or preset that sets
    `task:` twice would lose the first block silently, so a repeated key is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from `path`; a missing file, bad YAML or a repeated key is a ConfigError."""
    path = Path(path)
    try:
        tree = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeys)  # noqa: S506
    except FileNotFoundError:
        raise _file_error(path, "does not exist") from None
    except IsADirectoryError:
        raise _file_error(path, "is a directory, not a YAML file") from None
    except UnicodeDecodeError as err:
        why = f"is not UTF-8 text (byte {err.start}: {err.reason}); expected a YAML file"
        raise _file_error(path, why) from None
    except OSError as err:  # permissions, a device that fails
        raise _file_error(path, f"cannot be read: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise _file_error(path, f"is not valid YAML: {err}") from None
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        raise _file_error(path, "expected a mapping of sections", sep=":")
    return tree


def _file_error(path: Path, why: str, sep: str = "") -> ConfigError:
    """`config file 'x.yaml' does not exist`: the file is the value, a readable YAML mapping
    what is allowed."""
    message = f"config file {str(path)!r}{sep} {why}"
    return ConfigError("config file", str(path), "a readable YAML mapping", message=message)


def build_config(
    preset: str = "small",
    file: str | Path | None = None,
    sets: Iterable[str] | Mapping[str, Any] = (),
    source: str = "config",
) -> TrialConfig:
    """Preset → YAML file → overrides, validated into a `TrialConfig`.

    A preset's `task:` block belongs to its world: when the file or the overrides choose
    another `task.kind`, the preset's task keys are left out (a vocabulary size of the POS task
    means nothing to another world) and that world's defaults apply; its model, training,
    forgetting and evaluation keys still do."""
    base = preset_overrides(preset)
    layers = [read_yaml(file)] if file is not None else []
    pairs = dict(sets) if isinstance(sets, Mapping) else dict(map(parse_assignment, sets))
    layers.append(nest(pairs))
    chosen = [_task_kind(layer) for layer in layers if _task_kind(layer) is not None]
    if chosen and chosen[-1] != (_task_kind(base) or "pos"):
        base = {k: v for k, v in base.items() if k != "task"}
    tree = base
    for layer in layers:
        tree = deep_merge(tree, layer)
    return validate(tree, source=source)


def _task_kind(tree: Mapping[str, Any]) -> Any:
    """The `task.kind` a layer sets, or None."""
    task = tree.get("task")
    return task.get("kind") if isinstance(task, Mapping) else None


def validate(tree: Mapping[str, Any], source: str = "config") -> TrialConfig:
    try:
        return TrialConfig.model_validate(tree)
    except ValidationError as err:
        raise validation_error(ConfigError, err, tree, TrialConfig, source) from None
