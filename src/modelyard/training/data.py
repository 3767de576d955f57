"""What the Trainer accepts as data, and the columns it keeps.

Datasets: a map-style ``torch.utils.data.Dataset``, a list of dicts, an iterable dataset (no length:
``max_steps`` is then required), or a Hugging Face ``datasets.Dataset`` / ``IterableDataset`` (optional
dependency, recognised without importing it). Columns that ``model.forward`` does not take (by its
signature) are dropped when ``remove_unused_columns`` is set, and the dropped names are logged.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence, Sized
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, IterableDataset, Sampler

from modelyard.keyword_groups import group_keywords
from modelyard.training.errors import TrainerError

logger = logging.getLogger(__name__)

LABEL_ALIASES = ("label", "label_ids")  # renamed to "labels" by the collators


def is_hf_dataset(dataset: Any) -> bool:
    return type(dataset).__module__.split(".")[0] == "datasets"


def is_iterable(dataset: Any) -> bool:
    """True for datasets without a length that can only be streamed."""
    if isinstance(dataset, IterableDataset):
        return True
    if is_hf_dataset(dataset) and type(dataset).__name__ == "IterableDataset":
        return True
    return not hasattr(dataset, "__len__")


def check_dataset(dataset: Any, role: str) -> None:
    if dataset is None:
        return
    if isinstance(dataset, Dataset | IterableDataset) or is_hf_dataset(dataset):
        return
    if isinstance(dataset, Sequence) and not isinstance(dataset, str | bytes):
        return
    if hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__"):
        return
    if hasattr(dataset, "__iter__") and not isinstance(dataset, Mapping):
        raise TrainerError(
            f"{role} is a plain iterator ({type(dataset).__name__}); wrap it in a torch.utils.data.IterableDataset "
            "(whose __iter__ starts a new pass) and set max_steps."
        )
    raise TrainerError(
        f"{role} must be a torch Dataset, an IterableDataset, a list of dicts or a datasets.Dataset; got "
        f"{type(dataset).__name__}."
    )


def forward_parameters(model: nn.Module) -> list[str] | None:
    """The names ``model.forward`` takes; None when it takes a bare ``**kwargs`` (anything goes). A keyword group
    typed ``**kwargs: Unpack[SomeTypedDict]`` (PEP 692: the output switches) counts as the names it declares."""
    try:
        parameters = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return None
    names = [p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    for p in parameters:
        if p.kind is p.VAR_KEYWORD:
            group = group_keywords(model.forward, p.name)
            if group is None:
                return None
            names += group
    return names


def default_label_names(model: nn.Module) -> list[str]:
    """Label arguments of ``forward``: ``labels`` (or any name with "label"), QA start/end positions."""
    names = forward_parameters(model)
    if names is None:
        return ["labels"]
    if "QuestionAnswering" in type(model).__name__ and {"start_positions", "end_positions"} <= set(names):
        return ["start_positions", "end_positions"]
    found = [n for n in names if "label" in n]
    return found or ["labels"]


def kept_columns(model: nn.Module, label_names: list[str]) -> set[str] | None:
    names = forward_parameters(model)
    if names is None:
        return None
    return set(names) | set(label_names) | set(LABEL_ALIASES)


def _warn_dropped(dropped: list[str], role: str, model: nn.Module) -> None:
    if dropped:
        logger.info(
            "The following columns in the %s set are not arguments of %s.forward and have been ignored: %s. "
            "Set remove_unused_columns=False to keep them (e.g. for a custom collator).",
            role, type(model).__name__, ", ".join(sorted(dropped)),
        )


def remove_unused_hf_columns(dataset: Any, model: nn.Module, label_names: list[str], role: str) -> Any:
    """A ``datasets.Dataset`` without the columns ``forward`` does not take."""
    keep = kept_columns(model, label_names)
    columns = getattr(dataset, "column_names", None)
    if keep is None or not columns:
        return dataset
    dropped = [c for c in columns if c not in keep]
    if dropped and len(dropped) == len(columns):
        raise TrainerError(
            f"None of the {role} set's columns {columns} is an argument of {type(model).__name__}.forward "
            f"({sorted(keep - set(LABEL_ALIASES))}); rename the columns or set remove_unused_columns=False."
        )
    _warn_dropped(dropped, role, model)
    return dataset.remove_columns(dropped) if dropped else dataset


def nothing_to_drop(dataset: Any, keep: set[str]) -> bool:
    """True when ``dataset`` is a list or tuple of dicts that hold only ``keep`` keys: then no batch needs
    :class:`RemoveColumnsCollator` (one pass over the rows here instead of a check per batch)."""
    return isinstance(dataset, list | tuple) and all(type(row) is dict and keep.issuperset(row) for row in dataset)


class RemoveColumnsCollator:
    """Wraps a collator: drops the keys ``forward`` does not take from each example first (said once)."""

    def __init__(self, collator: Callable[[list[Any]], Any], keep: set[str], model: nn.Module, role: str) -> None:
        self.collator = collator
        self.keep = keep
        self.model_name = type(model).__name__
        self.role = role
        self._model = model
        self._reported = False

    @property
    def draws_random(self) -> bool:
        return getattr(self.collator, "draws_random", True)

    def __call__(self, features: list[Any]) -> Any:
        first = features[0] if features else None
        if type(first) is dict or isinstance(first, Mapping):
            if self._reported and self.keep.issuperset(first):
                return self.collator(features)  # nothing to drop
            if not self._reported:
                dropped = [k for k in features[0] if k not in self.keep]
                if dropped and len(dropped) == len(features[0]):
                    raise TrainerError(
                        f"None of the {self.role} examples' fields {list(features[0])} is an argument of "
                        f"{self.model_name}.forward; rename them or set remove_unused_columns=False."
                    )
                _warn_dropped(dropped, self.role, self._model)
                self._reported = True
            features = [{k: v for k, v in f.items() if k in self.keep} for f in features]
        return self.collator(features)


class EpochShuffleSampler(Sampler[int]):
    """A new random order of the dataset every epoch: the permutation drawn from a generator seeded with
    ``seed + epoch``, the same draws as accelerate's ``SeedableRandomSampler`` with ``data_seed=seed`` (so the
    same order on every process, reproducible, independent of the global RNG). The order is handed out as a
    list iterator: accelerate's sampler yields each index through two Python generators, a cost per sample.
    The data loader sets the epoch before each pass (``set_epoch``)."""

    def __init__(self, data_source: Sized, *, seed: int) -> None:
        self.data_source = data_source
        self.seed = seed
        self.epoch = 0
        self.generator: torch.Generator | None = None

    def __len__(self) -> int:
        return len(self.data_source)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        if self.generator is None:
            self.generator = torch.Generator(device=torch.get_default_device())
        self.generator.manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(len(self.data_source), generator=self.generator).tolist())


# ------------------------------------------------------------------------------ reproducible batches
# accelerate's loader builds the next batch before the current one is used, worker processes build batches
# in parallel, and a resumed run skips the batches it has seen. Randomness drawn while a batch is built
# (DataCollatorForLanguageModeling's masks, torch-based augmentations in __getitem__) would then differ
# between an uninterrupted and a resumed run, and would shift the training's own stream (dropout). So each
# batch is fetched and collated with torch's CPU generator seeded from (seed, epoch, the batch's indices),
# and the generator is put back afterwards: the same batch gets the same draws wherever it is built.
# (Python's `random` and NumPy's global generator are not isolated: snapshotting them costs 15-60 us a
# batch. Draw from torch for exact resumes.)


def needs_seeding(dataset: Any, collator: Any) -> bool:
    """False only when nothing random can run while a batch is built: a plain list or tuple of examples and a
    collator marked ``draws_random = False`` (our default and padding collators). Anything else (a Dataset
    whose ``__getitem__`` may augment, a user collator) is seeded per batch."""
    return not (isinstance(dataset, list | tuple) and getattr(collator, "draws_random", True) is False)


class seeded_torch:  # noqa: N801 (used like contextlib's managers; a class: no generator overhead per batch)
    """Seed torch's CPU generator for the block, then put its state back (torch.manual_seed would also
    queue CUDA seeding, costly on every batch)."""

    def __init__(self, seed: int) -> None:
        import torch

        self.generator = torch.default_generator
        self.seed = seed

    def __enter__(self) -> None:
        self.saved = self.generator.get_state()
        self.generator.manual_seed(self.seed)

    def __exit__(self, *exc: object) -> None:
        self.generator.set_state(self.saved)


def batch_seed(*parts: int) -> int:
    return hash(tuple(parts)) & (2**63 - 1)  # hashing ints is deterministic across processes and runs


class IndexedDataset(Dataset):
    """A dataset of the indices of ``dataset``: the loader's sampler and sharding pick indices, and the
    collator (:class:`SeededCollator`) fetches the examples, in one seeded block per batch."""

    def __init__(self, dataset: Any, seed: int) -> None:
        self.dataset = dataset
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> int:
        return index

    def __getitems__(self, indices: list[int]) -> list[int]:
        return indices

    def fetch(self, indices: list[int]) -> list[Any]:
        many = getattr(self.dataset, "__getitems__", None)  # batched reads (e.g. datasets.Dataset)
        return list(many(indices)) if many is not None else [self.dataset[i] for i in indices]

    def set_epoch(self, epoch: int) -> None:  # called by accelerate's data loader at each epoch
        self.epoch = epoch
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)


class IndexedIterableDataset(IterableDataset):
    """The iterable counterpart: examples numbered by their position in the stream of the epoch."""

    def __init__(self, dataset: Any, seed: int) -> None:
        self.dataset = dataset
        self.seed = seed
        self.epoch = 0

    def __iter__(self) -> Any:
        return enumerate(iter(self.dataset))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)


class SeededCollator:
    """Fetches (map-style datasets) and collates a batch with torch's generator seeded from the batch (see
    the comment above)."""

    def __init__(self, collator: Callable[[list[Any]], Any], dataset: IndexedDataset | IndexedIterableDataset) -> None:
        self.collator = collator
        self.dataset = dataset

    def __call__(self, items: list[Any]) -> Any:
        dataset = self.dataset
        if isinstance(dataset, IndexedDataset):
            with seeded_torch(batch_seed(dataset.seed, dataset.epoch, *items)):
                return self.collator(dataset.fetch(items))
        with seeded_torch(batch_seed(dataset.seed, dataset.epoch, *(position for position, _ in items))):
            return self.collator([example for _, example in items])
