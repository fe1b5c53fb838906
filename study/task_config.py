"""The task block of a trial config: one typed part per world, chosen by `task.kind`
(docs/design.md §9). `pos` (the default, so every config written before keeps its meaning) is
the paper's masked part-of-speech task; `ar` is the paper's autoregressive toy; `bursty` is
bursty in-context classification (Reddy 2023).

Each part states, beside its own keys, what the platform needs to read its runs honestly: the
chance level of each metric it feeds (a regime threshold left unset defaults to it), the
held-out protocols its structural-ICL set is scored under, and how many classes its output
layer scores (for memory estimates). The torch side of a world (sampler, evaluation sets,
model family) lives in `study.trial.worlds`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from study.config_part import Part
from study.metric_names import (
    ACC_VAL,
    ICL_HEAD,
    ICL_STRUCTURAL,
    ICL_TAIL,
    IWL_HEAD,
    IWL_TAIL,
)
from study.protocols import PROTOCOLS, Protocol


class TaskConfig(Part):
    """The synthetic part-of-speech task (docs/design.md §2)."""

    kind: Literal["pos"] = Field(
        "pos", description="the world: pos, ar, bursty (docs/design.md §9)"
    )
    n_vocab: int = Field(
        10_000, ge=20, description="content tokens V (even): nouns then adjectives"
    )
    n_holdout: int | None = Field(None, ge=2, description="held-out ids R; default V // 10")
    zipf_exponent: float = Field(1.5, ge=0.0, le=10.0, description="α of the within-class Zipf law")
    p_ambiguous: float = Field(0.1, ge=0.0, le=1.0, description="ε, share of ambiguous tokens")
    n_freq_bins: int = Field(5, ge=1, description="bins the ambiguous tokens are spread over")
    ambiguity: Literal["twin", "paper"] = Field(
        "twin",
        description="twin: same ranks in both classes, swapped for the same-rank twin; paper: the "
        "released code's law, random ranks per class and bin, swapped for a Zipf draw over the "
        "other class's ambiguous list",
    )
    tail_fraction: float = Field(0.1, gt=0.0, le=0.5, description="rarest share of a class = tail")
    zipf_law: Literal["full", "paper"] = Field(
        "full",
        description="full: every rank 1 … V/2 drawn, p ∝ r^-α; paper: the released sampler's, "
        "which never draws rank 1 at α > 0 (np.random.zipf starts at 1, the class's ids at 0; "
        "uniform at α = 0 as there) — the cause of its higher transience peak (docs/design.md §6)",
    )

    protocols: ClassVar[tuple[Protocol, ...]] = PROTOCOLS

    @field_validator("n_vocab")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError(f"must be even (nouns and adjectives split it), got {v}")
        return v

    @model_validator(mode="after")
    def _fill_holdout(self) -> TaskConfig:
        if self.n_holdout is None:
            object.__setattr__(self, "n_holdout", max(2, self.n_vocab // 10))
        if self.n_freq_bins > self.n_vocab // 2:
            raise ValueError(
                f"n_freq_bins={self.n_freq_bins} exceeds the class size {self.n_vocab // 2}"
            )
        return self

    @property
    def output_size(self) -> int:
        """Ids the softmax runs over: content, copula, mask, held out."""
        return self.n_vocab + 2 + (self.n_holdout or 0)

    def chance(self) -> dict[str, float]:
        """A model that copies the query and guesses target 1 between the two context tokens
        scores 0.5 on `holdout` and answers each swapped set half the context's way, half the
        memorised way (docs/design.md §3)."""
        return dict.fromkeys((ICL_STRUCTURAL, ICL_HEAD, IWL_HEAD, ICL_TAIL, IWL_TAIL), 0.5)


class ArTaskConfig(Part):
    """The paper's autoregressive toy (its released `toy_model_ar`; docs/design.md §9): items,
    each with its own label token; 8 (item, label) pairs, then a query item whose label is the
    only target."""

    kind: Literal["ar"] = "ar"
    n_items: int = Field(
        1600, ge=4, description="items seen in training, each with its own label token"
    )
    n_holdout: int = Field(
        200, ge=4, description="held-out items: never in a training sequence (structural ICL)"
    )
    zipf_exponent: float = Field(
        1.0, ge=0.0, le=10.0, description="α of the Zipf law over items, by id (id 0 most frequent)"
    )
    zipf_law: Literal["full", "paper"] = Field(
        "full",
        description="full: p ∝ r^-α at the configured α; paper: the released code's, which draws "
        "every α > 0 as α = 1.0001 (its vocabulary resets `a` to that default) and α = 0 "
        "uniformly (docs/design.md §9)",
    )
    bursty_ratio: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="share of bursty training sequences: 4 copies of the query item and 4 of one "
        "other item (else 8 independent items)",
    )
    amb_ratio: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="in a bursty sequence, each of its two items gets a random label with this "
        "probability (the query's answer follows its in-context label)",
    )

    protocols: ClassVar[tuple[Protocol, ...]] = ("paper",)

    @property
    def output_size(self) -> int:
        """Ids the tied head scores: items, held-out items, one label per item."""
        return 2 * self.n_items + self.n_holdout

    @property
    def alpha(self) -> float:
        """The exponent the sampler draws with (`zipf_law: paper` turns every α > 0 into the
        released code's 1.0001)."""
        if self.zipf_law == "paper" and self.zipf_exponent > 0:
            return PAPER_AR_ALPHA
        return self.zipf_exponent

    def chance(self) -> dict[str, float]:
        """`holdout` and `context` are scored between their two evaluation labels (0.5); the
        `weights` and `val` answers are one label of `n_items`."""
        one_of = 1.0 / self.n_items
        return {ICL_STRUCTURAL: 0.5, ICL_HEAD: 0.5, IWL_HEAD: one_of, ACC_VAL: one_of}


class BurstyTaskConfig(Part):
    """Bursty in-context classification (Reddy 2023, ICLR 2024; after Chan et al. 2022's data
    properties; docs/design.md §9): K classes of Gaussian items in D dimensions, class k labelled
    k mod L; N (item, label) pairs, then a query item whose label is the answer."""

    kind: Literal["bursty"] = "bursty"
    n_classes: int = Field(512, ge=2, description="K: classes, each a Gaussian mean")
    n_labels: int = Field(32, ge=2, description="L: labels; class k has label k mod L")
    n_dims: int = Field(63, ge=1, description="D: the items' dimension")
    n_context: int = Field(8, ge=2, description="N: (item, label) pairs before the query")
    burst: int = Field(
        2, ge=1, description="B: a bursty context holds N/B classes, B items of each"
    )
    noise: float = Field(
        0.1, ge=0.0, le=100.0, description="ε: within-class noise, items (μ + εη)/√(1+ε²)"
    )
    zipf_exponent: float = Field(
        0.0, ge=0.0, le=10.0, description="α of the Zipf law over classes (class 0 most frequent)"
    )
    p_bursty: float = Field(
        1.0, ge=0.0, le=1.0, description="p_B: share of bursty training sequences"
    )
    p_fresh: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="p_C: share of training sequences whose classes get fresh means (their "
        "labels are the known ones)",
    )
    n_positions: int = Field(
        0,
        ge=0,
        description="0: a sequence's positions are 0 … 2N, one learned vector each; P ≥ 2N + 1: "
        "each sequence starts at a random offset among P positions (Reddy 2023's encoding, "
        "P = 65), so only relative positions carry over between sequences",
    )

    protocols: ClassVar[tuple[Protocol, ...]] = ("paper",)

    @model_validator(mode="after")
    def _shapes_fit(self) -> BurstyTaskConfig:
        k, n_labels, n, b = self.n_classes, self.n_labels, self.n_context, self.burst
        if n_labels > k or k % n_labels:
            raise ValueError(
                f"n_classes={k}, n_labels={n_labels}: every label needs the same number of "
                "classes; allowed: n_classes a multiple of n_labels"
            )
        if n % b or n // b < 2:
            raise ValueError(
                f"n_context={n}, burst={b}: a bursty context holds n_context / burst classes; "
                "allowed: burst dividing n_context at most n_context / 2"
            )
        if self.n_positions and self.n_positions < 2 * n + 1:
            raise ValueError(
                f"n_positions={self.n_positions}: a sequence of n_context={n} pairs and its query "
                f"takes {2 * n + 1} positions; allowed: 0 or ≥ {2 * n + 1}"
            )
        if n // b > n_labels:
            raise ValueError(
                f"n_context / burst = {n // b} classes with distinct labels need as many labels; "
                f"allowed: n_labels ≥ {n // b}"
            )
        return self

    @property
    def classes_per_context(self) -> int:
        return self.n_context // self.burst

    @property
    def output_size(self) -> int:
        """The read-out scores the L labels."""
        return self.n_labels

    def chance(self) -> dict[str, float]:
        """The in-context sets hold N/B classes with distinct labels: a model that copies the
        label of a context class at random scores B/N; the `absent` and `val` answers are one
        label of L."""
        copy = 1.0 / self.classes_per_context
        one_of = 1.0 / self.n_labels
        return {ICL_STRUCTURAL: copy, ICL_HEAD: copy, IWL_HEAD: one_of, ACC_VAL: one_of}


PAPER_AR_ALPHA = 1.0001  # what the released AR toy draws with, whatever `--a` says (α > 0)


def _kind(value: Any) -> str:
    """The tag of a task block: its `kind`, `pos` when it has none (configs from before)."""
    if isinstance(value, dict):
        return str(value.get("kind", "pos"))
    return str(getattr(value, "kind", "pos"))


AnyTaskConfig = Annotated[
    Annotated[TaskConfig, Tag("pos")]
    | Annotated[ArTaskConfig, Tag("ar")]
    | Annotated[BurstyTaskConfig, Tag("bursty")],
    Discriminator(_kind),
]
TASK_KINDS: tuple[str, ...] = ("pos", "ar", "bursty")
