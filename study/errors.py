"""Usage errors, and the one way a pydantic validation error is told to the user.

Every bad input — a trial config, a preset, a sweep spec, a study name — is a `UsageError`
whose message names the key, the value and what is allowed; the CLI prints it without a
traceback and exits 2.

`describe` names each problem the way the YAML file spells it. A sweep spec has dicts of dotted
keys and tagged unions, whose tags pydantic writes into the error location (`sampler.tpe.options`)
although the file never says `tpe:` as a key; so the location is walked against the data, and
the message points at the key the user typed.
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, NoReturn, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from typing_extensions import Self

E = TypeVar("E", bound="UsageError")


class UsageError(ValueError):
    """A usage or config error, with what it is about as fields: the `key` (a config key, a spec
    path, an option), the `value` given and what is `allowed`; `source` names the file or
    command it came from. Code routes on the fields, never on the message; the CLI prints the
    message without a traceback and exits 2."""

    def __init__(
        self,
        key: str,
        value: object,
        allowed: str,
        *,
        source: str | None = None,
        message: str | None = None,
    ) -> None:
        self.key, self.value, self.allowed, self.source = key, value, allowed, source
        prefix = f"{source}: " if source else ""
        super().__init__(message or f"{prefix}{key}: got {value!r} — {allowed}")

    def __reduce__(self) -> tuple[Any, ...]:  # pickled across worker processes
        fields = {"source": self.source, "message": str(self)}
        return (_rebuild, (type(self), self.key, self.value, self.allowed, fields))

    @classmethod
    def of(
        cls,
        err: UsageError,
        *,
        key: str | None = None,
        source: str | None = None,
        message: str | None = None,
    ) -> Self:
        """This kind of error with `err`'s fields, some changed."""
        return cls(
            err.key if key is None else key,
            err.value,
            err.allowed,
            source=err.source if source is None else source,
            message=message,
        )


def _rebuild(
    cls: type[UsageError], key: str, value: object, allowed: str, fields: dict[str, Any]
) -> UsageError:
    return cls(key, value, allowed, **fields)


class ConfigError(UsageError):
    """A bad trial config, preset or override."""


class SpecError(ConfigError):
    """A bad sweep spec: the message names the file, the key path, the value and what is allowed."""


def fail_spec(source: str, key: str, value: Any, allowed: str) -> NoReturn:
    """Raise the `SpecError` that names the file, the key path, the value and what is allowed."""
    raise SpecError(key, value, allowed, source=source)


def validation_error(
    cls: type[E], err: ValidationError, tree: Any, schema: type[BaseModel], source: str
) -> E:
    """A pydantic error as a usage error: its first problem as the fields, every problem a line
    of the message (`describe`)."""
    first = problems(err, tree, schema)[0]
    return cls(*first, source=source, message=describe(err, tree, schema, source))


class RuntimeFailure(RuntimeError):
    """Not the input's fault: a server that does not answer, a worker that gave up. The CLI
    prints the message (passwords masked) and exits 1."""


def problems(
    err: ValidationError, tree: Any, schema: type[BaseModel]
) -> list[tuple[str, object, str]]:
    """(key, value, what is allowed) per problem, the key as the file spells it."""
    out: list[tuple[str, object, str]] = []
    for problem in err.errors():
        loc, kind = problem["loc"], problem["type"]
        key = key_path(loc, tree, keep_last=kind == "missing") or "(top level)"
        value = problem.get("input")
        if kind == "extra_forbidden":
            allowed = "allowed here: " + (", ".join(allowed_keys(schema, loc[:-1])) or "(none)")
        elif kind == "missing":
            value, allowed = None, "required"
        elif kind == "union_tag_invalid":  # every tagged union of ours is tagged by `kind`
            context = problem.get("ctx") or {}
            key = "kind" if key == "(top level)" else f"{key}.kind"
            value, allowed = context.get("tag"), f"one of {context.get('expected_tags')}"
        else:
            allowed = problem["msg"].removeprefix("Value error, ")
        out.append((key, value, allowed))
    return out


def describe(err: ValidationError, tree: Any, schema: type[BaseModel], source: str) -> str:
    """One line per problem: `source: key.path: got value — what is allowed`."""
    lines: list[str] = []
    for (key, value, allowed), problem in zip(
        problems(err, tree, schema), err.errors(), strict=True
    ):
        if problem["type"] == "extra_forbidden":
            line = f"{source}: unknown key {key!r} (value {value!r}); {allowed}"
        elif problem["type"] == "missing":
            line = f"{source}: {key}: missing — required"
        else:
            line = f"{source}: {key}: got {value!r} — {allowed}"
        if line not in lines:
            lines.append(line)
    return "\n".join(lines)


def key_path(loc: tuple[Any, ...], tree: Any, keep_last: bool = False) -> str:
    """`('space', 'task.n_vocab', 'grid', 'values', 0)` → `space.task.n_vocab.values[0]`: parts
    absent from the data (union tags and branch names) are dropped, except a missing key."""
    out, node = "", tree
    for i, part in enumerate(loc):
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int)
        )
        if present:
            node = node[part]
        elif not (keep_last and i == len(loc) - 1):
            continue
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".")


def allowed_keys(schema: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model at `loc`, following dict values, list items and union tags."""
    node: Any = schema
    for part in loc:
        node = _step(node, part)
    return sorted(
        {
            f.alias or name
            for m in _members(node)
            if _is_model(m)
            for name, f in m.model_fields.items()
        }
    )


def _members(annotation: Any) -> list[Any]:
    """`Annotated[A | B, ...] | None` → [A, B, NoneType]."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _step(annotation: Any, part: Any) -> Any:
    for member in _members(annotation):
        if get_origin(member) in (list, dict):
            return get_args(member)[-1]  # a list index or a dict key
        if _is_model(member) and part in member.model_fields:
            return member.model_fields[part].annotation
        if _is_model(member) and _tag(member) == part:
            return member
    return None


def _tag(model: type[BaseModel]) -> Any:
    field = model.model_fields.get("kind")
    args = get_args(field.annotation) if field is not None else ()
    return args[0] if len(args) == 1 else None
