"""Ops dispatched and host syncs of a pack, counted on any device as a GPU would see them.

A `Counter` is a torch dispatch mode: every aten op that reaches a kernel is one launch (on a GPU,
about one kernel), and an op that must read a device value back to the host — `.item()`,
`float(t)`, `if t.any()`, `nonzero`, boolean-mask indexing, a one-sample `multinomial` — is a
host sync. Those read values the GPU has not produced yet, so each one empties its queue.

`pack_counts` measures a pack from outside, whatever the code inside does: it runs `train_pack`
twice with the counter on, at two lengths (or two evaluation schedules), and divides the
difference, so setup, the step-0 evaluation and the end cancel out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

if TYPE_CHECKING:
    from torch._ops import OpOverload

    from study.config import TrialConfig

    Op = OpOverload[..., Any]  # an aten op as dispatched: any arguments, any result

aten = torch.ops.aten
# ops whose result size or value the host needs before it can go on
_SYNCS = {
    aten._local_scalar_dense.default,  # .item(), float(), int(), bool(), `if t`
    aten.item.default,  # the same, as seen under inference mode (composites not decomposed)
    aten.is_nonzero.default,
    aten.nonzero.default,
    aten.masked_select.default,
    aten._unique2.default,
    aten.unique_consecutive.default,
    aten.repeat_interleave.Tensor,
    aten.equal.default,
    aten.allclose.default,
}
_HOST_READS = ("tolist", "numpy")
_MASK_INDEXED = {aten.index.Tensor, aten.index_put_.default, aten.index_put.default}


# A dispatched op's arguments are whatever it takes (tensors, lists of them, numbers, devices),
# hence `Any` for them below.
def _is_sync(func: Op, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    if func in _SYNCS:
        return True
    if func in _MASK_INDEXED:  # a boolean mask becomes indices through nonzero
        return any(i is not None and i.dtype == torch.bool for i in args[1])
    if func is aten.multinomial.default:  # n = 1 (or no replacement) checks the weights on the host
        n = args[1]
        replace = args[2] if len(args) > 2 else kwargs.get("replacement", False)
        return n == 1 or not replace
    if func in (aten._to_copy.default, aten.copy_.default):  # a device tensor copied to the host
        src = args[1] if func is aten.copy_.default else args[0]
        dst = args[0].device if func is aten.copy_.default else kwargs.get("device")
        return src.device.type != "cpu" and dst is not None and torch.device(dst).type == "cpu"
    return False


# torch leaves TorchDispatchMode's methods unannotated, so each call of one (subclassing calls
# its __init_subclass__) is an untyped call under strict: the `type: ignore`s below
class Counter(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """`with Counter() as c: …` → c.ops, c.syncs (and c.by_op for a look inside)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.ops, self.syncs = 0, 0
        self.by_op: dict[Op, int] = {}

    def __torch_dispatch__(
        self,
        func: Op,
        types: Sequence[type],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> object:
        kwargs = kwargs or {}
        self.ops += 1
        self.by_op[func] = self.by_op.get(func, 0) + 1
        self.syncs += _is_sync(func, args, kwargs)
        return func(*args, **kwargs)

    def __enter__(self) -> Counter:
        # a CPU tensor's tolist() / numpy() read memory without dispatching an op (on a GPU
        # they copy to the host first): counted as syncs here
        self._saved: dict[str, Callable[..., object]] = {
            name: getattr(torch.Tensor, name) for name in _HOST_READS
        }
        for name, method in self._saved.items():
            setattr(torch.Tensor, name, self._reading(method))
        entered: Counter = super().__enter__()  # type: ignore[no-untyped-call]
        return entered

    def __exit__(self, *exc: object) -> None:
        for name, method in self._saved.items():
            setattr(torch.Tensor, name, method)
        super().__exit__(*exc)  # type: ignore[no-untyped-call]

    def _reading(self, method: Callable[..., object]) -> Callable[..., object]:
        def read(tensor: torch.Tensor, *args: object, **kwargs: object) -> object:
            self.syncs += 1
            return method(tensor, *args, **kwargs)

        return read


@dataclass(frozen=True)
class PackCounts:
    pack: int
    ambiguity: str
    step_ops: float  # one training step of the whole pack
    step_syncs: float
    eval_ops: float  # one evaluation of the whole pack
    eval_syncs: float

    @property
    def eval_syncs_per_trial(self) -> float:
        return self.eval_syncs / self.pack


def _counted(
    cfg: TrialConfig, k: int, device: torch.device, steps: int, every: int
) -> tuple[int, int]:
    from study.trial.pack import Member, train_pack

    sets = {"steps": steps}
    cfgs = [
        cfg.model_copy(
            update={
                "train": cfg.train.model_copy(update={"seed": i, **sets}),
                "eval": cfg.eval.model_copy(update={"schedule": "every", "every": every}),
            }
        )
        for i in range(k)
    ]
    with Counter() as c:
        train_pack([Member(c_) for c_ in cfgs], device)
    return c.ops, c.syncs


def pack_counts(cfg: TrialConfig, k: int, device: torch.device, steps: int = 4) -> PackCounts:
    """Ops and syncs per training step and per evaluation of a pack of `k` trials of `cfg`
    (seeds 0 … k-1; no forgetting resets fall in so few steps at the presets' k)."""
    from study.config import TaskConfig
    from study.trial.worlds.api import task_part

    pos_task = task_part(cfg, TaskConfig)  # packs are the POS task's
    a = _counted(cfg, k, device, steps, every=steps)  # evaluations at 0 and `steps`
    b = _counted(cfg, k, device, 2 * steps, every=2 * steps)  # `steps` more training steps
    c = _counted(cfg, k, device, steps, every=steps // 2)  # one more evaluation
    return PackCounts(
        k,
        pos_task.ambiguity,
        (b[0] - a[0]) / steps,
        (b[1] - a[1]) / steps,
        float(c[0] - a[0]),
        float(c[1] - a[1]),
    )
