"""Model outputs: dataclasses that are also ordered dicts, readable by attribute, by key and by index.

As in the reference library, fields that are ``None`` are left out of the dict, key and index views, so
``outputs[0]`` is the loss when labels were given and the logits otherwise. Being a real ``dict`` matters
beyond ``out.items()``: ``torch.jit.trace(..., strict=False)``, ``DataParallel`` gathering and user code
that type-checks for a mapping all accept it. Each subclass is also registered with torch's pytree
utilities, so ``torch.export`` and ``torch.compile`` flatten it to its tensors and rebuild it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import Field, dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch.utils import _pytree as pytree


class ModelOutput(OrderedDict):
    """Base class: subclasses are ``@dataclass``es whose fields default to ``None``.

    The dict holds the fields that are set (not ``None``), in field order; setting a field by attribute
    or by key updates both views. Removing keys (``del``, ``pop``, ``popitem``, ``setdefault``,
    ``update``) is refused: an output's fields are fixed by its class.
    """

    if TYPE_CHECKING:  # what @dataclass gives every subclass (checked in __post_init__)
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        def unflatten(values: Iterable[Any], keys: Any) -> ModelOutput:
            return cls(**dict(zip(keys, values)))

        pytree.register_pytree_node(
            cls,
            _flatten_output,
            unflatten,
            serialized_type_name=f"{cls.__module__}.{cls.__qualname__}",
        )

    def __post_init__(self) -> None:
        # The generated __init__ assigned every field through __setattr__, which keeps the dict in step;
        # this only checks that the class was declared as a dataclass with defaults for every field.
        if not fields(self):
            raise TypeError(f"{type(self).__name__} must be a @dataclass with at least one field.")
        # As in the reference, Output({"logits": x}) builds from a mapping of field values: code that
        # rebuilds outputs generically does type(output)(dict(...)) (accelerate's device hooks, for one).
        names = self._field_names()
        first = getattr(self, names[0])
        if isinstance(first, Mapping) and all(getattr(self, n) is None for n in names[1:]):
            unknown = [k for k in first if k not in names]
            if unknown:
                raise TypeError(f"{type(self).__name__} has no fields {unknown}; its fields: {list(names)}")
            values = dict(first)
            for name in names:
                setattr(self, name, values.get(name))

    # ------------------------------------------------------------------ one state, two views
    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in self._field_names():
            self._sync(name, value)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._field_names():
            raise KeyError(f"{type(self).__name__} has no field {key!r}; its fields: {list(self._field_names())}")
        super().__setattr__(key, value)
        self._sync(key, value)

    def _sync(self, name: str, value: Any) -> None:
        if value is None:
            super().pop(name, None)
            return
        # Keep field order: a field set late goes to its place among the others, not to the end.
        super().__setitem__(name, value)
        order = [n for n in self._field_names() if n in self]
        if list(super().keys()) != order:
            for key in order:
                self.move_to_end(key)

    @classmethod
    def _field_names(cls) -> tuple[str, ...]:
        names = cls.__dict__.get("_cached_field_names")
        if names is None:
            names = tuple(f.name for f in fields(cls))
            type.__setattr__(cls, "_cached_field_names", names)
        return names

    # ------------------------------------------------------------------ reading
    def __getitem__(self, key: str | int | slice) -> Any:
        if isinstance(key, str):
            try:
                return super().__getitem__(key)
            except KeyError:
                raise KeyError(
                    f"{type(self).__name__} has no field {key!r} set; set fields: {list(self.keys())}"
                ) from None
        return self.to_tuple()[key]

    def to_tuple(self) -> tuple[Any, ...]:
        """The set fields, in order (what ``return_dict=False`` returns)."""
        return tuple(super().values())

    # ------------------------------------------------------------------ what an output does not allow
    def _refuse(self, operation: str) -> Any:
        raise TypeError(
            f"{type(self).__name__} does not support {operation}: its fields are fixed by the class. "
            "Set a field to None to leave it out, or build a plain dict with dict(output)."
        )

    def __delitem__(self, key: str) -> None:
        self._refuse("deleting keys")

    def pop(self, *args: Any, **kwargs: Any) -> Any:
        return self._refuse("pop()")

    def popitem(self, *args: Any, **kwargs: Any) -> Any:
        return self._refuse("popitem()")

    def setdefault(self, *args: Any, **kwargs: Any) -> Any:
        return self._refuse("setdefault()")

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._refuse("update()")

    def __reduce__(self) -> Any:
        # Pickle (multiprocessing, DataLoader workers) by fields: the dict view is rebuilt on load.
        return (_rebuild_output, (type(self), {f: getattr(self, f) for f in self._field_names()}))


def _rebuild_output(cls: type[ModelOutput], values: dict[str, Any]) -> ModelOutput:
    return cls(**values)


def _flatten_output(output: ModelOutput) -> tuple[list[Any], list[str]]:
    return list(output.values()), list(output.keys())


# Field types: a tensor, or one tensor per layer (hidden states, attention maps).
OptionalTensor = torch.Tensor | None
LayerTensors = tuple[torch.Tensor, ...] | None


# Field groups. The reference declares each output class on its own; many share their fields exactly, so
# those are declared once here and the public classes below inherit them (in the same order, so
# ``outputs[0]``, ``to_tuple()`` and unpacking are the reference's). The groups are private: the public
# classes stay unrelated to one another, as in the reference.
@dataclass
class _EncoderFields(ModelOutput):
    last_hidden_state: OptionalTensor = None
    hidden_states: LayerTensors = None
    attentions: LayerTensors = None


@dataclass
class _PooledFields(ModelOutput):
    last_hidden_state: OptionalTensor = None
    pooler_output: OptionalTensor = None
    hidden_states: LayerTensors = None
    attentions: LayerTensors = None


@dataclass
class _ScoreFields(ModelOutput):
    loss: OptionalTensor = None
    logits: OptionalTensor = None
    hidden_states: LayerTensors = None
    attentions: LayerTensors = None


@dataclass
class _DecoderFields(ModelOutput):
    last_hidden_state: OptionalTensor = None
    past_key_values: Any = None
    hidden_states: LayerTensors = None
    attentions: LayerTensors = None


@dataclass
class _DecoderScoreFields(ModelOutput):
    loss: OptionalTensor = None
    logits: OptionalTensor = None
    past_key_values: Any = None
    hidden_states: LayerTensors = None
    attentions: LayerTensors = None


@dataclass
class BaseModelOutput(_EncoderFields):
    """An encoder's output: the last layer's hidden states ``(batch, seq, hidden)``."""


@dataclass
class BaseModelOutputWithPooling(_PooledFields):
    """An encoder's output plus the pooled (first-token or averaged) representation."""


@dataclass
class BaseModelOutputWithNoAttention(ModelOutput):
    last_hidden_state: OptionalTensor = None
    hidden_states: LayerTensors = None


@dataclass
class BaseModelOutputWithPoolingAndNoAttention(ModelOutput):
    last_hidden_state: OptionalTensor = None
    pooler_output: OptionalTensor = None
    hidden_states: LayerTensors = None


@dataclass
class Wav2Vec2BaseModelOutput(ModelOutput):
    last_hidden_state: OptionalTensor = None
    extract_features: OptionalTensor = None
    hidden_states: LayerTensors = None
    attentions: LayerTensors = None


@dataclass
class MaskedLMOutput(_ScoreFields):
    """Scores over the vocabulary at every position."""


@dataclass
class SequenceClassifierOutput(_ScoreFields):
    """One score per label for each sequence (a single one for regression)."""


@dataclass
class TokenClassifierOutput(_ScoreFields):
    """One score per label for each token."""


@dataclass
class QuestionAnsweringModelOutput(ModelOutput):
    loss: OptionalTensor = None
    start_logits: OptionalTensor = None
    end_logits: OptionalTensor = None
    hidden_states: LayerTensors = None
    attentions: LayerTensors = None


@dataclass
class MultipleChoiceModelOutput(_ScoreFields):
    """One score per choice: ``logits`` (batch, num_choices)."""


@dataclass
class ImageClassifierOutput(_ScoreFields):
    """One score per label for each image."""


@dataclass
class ImageClassifierOutputWithNoAttention(ModelOutput):
    loss: OptionalTensor = None
    logits: OptionalTensor = None
    hidden_states: LayerTensors = None


@dataclass
class CausalLMOutput(_ScoreFields):
    """Also the CTC head's output (logits over the character vocabulary per frame)."""


@dataclass
class BaseModelOutputWithPast(_DecoderFields):
    """A decoder's hidden states plus its key/value cache (``past_key_values``)."""


@dataclass
class CausalLMOutputWithPast(_DecoderScoreFields):
    """A causal LM's output: next-token ``logits`` ``(batch, seq, vocab)`` and the cache to continue from."""


@dataclass
class BaseModelOutputWithPastAndCrossAttentions(_DecoderFields):
    """GPT-2's base output: ``cross_attentions`` only for configs with ``add_cross_attention``."""

    cross_attentions: LayerTensors = None


@dataclass
class CausalLMOutputWithCrossAttentions(_DecoderScoreFields):
    """GPT-2's language-model output (the reference's class name)."""

    cross_attentions: LayerTensors = None


@dataclass
class SequenceClassifierOutputWithPast(_DecoderScoreFields):
    """A decoder's sequence scores (read at the last non-padding token) and its cache."""


@dataclass
class BaseModelOutputWithPoolingAndCrossAttentions(ModelOutput):
    """BERT's base output: ``past_key_values`` and ``cross_attentions`` only in decoder mode."""

    last_hidden_state: OptionalTensor = None
    pooler_output: OptionalTensor = None
    hidden_states: LayerTensors = None
    past_key_values: Any = None
    attentions: LayerTensors = None
    cross_attentions: LayerTensors = None


@dataclass
class NextSentencePredictorOutput(_ScoreFields):
    """Whether sentence B follows sentence A: ``logits`` (batch, 2)."""


@dataclass
class MaskedImageModelingOutput(ModelOutput):
    """Pixels reconstructed from an image with masked patches: ``reconstruction`` (batch, channels, height, width)."""

    loss: OptionalTensor = None
    reconstruction: OptionalTensor = None
    hidden_states: LayerTensors = None
    attentions: LayerTensors = None


@dataclass
class BackboneOutput(ModelOutput):
    """A backbone's feature maps, one per stage named in ``out_features``."""

    feature_maps: LayerTensors = None
    hidden_states: LayerTensors = None
    attentions: LayerTensors = None


@dataclass
class XVectorOutput(ModelOutput):
    """A speaker-verification head's output: ``embeddings`` (batch, xvector_output_dim) compare speakers (cosine
    similarity); ``logits`` score the training speakers."""

    loss: OptionalTensor = None
    logits: OptionalTensor = None
    embeddings: OptionalTensor = None
    hidden_states: LayerTensors = None
    attentions: LayerTensors = None


# Outputs of architectures modelyard has no family for yet, at the reference's names (its
# ``modeling_outputs`` module offers them to custom code; see modelyard.compat.transformers).
@dataclass
class BaseModelOutputWithCrossAttentions(_EncoderFields):
    """An encoder-decoder's decoder output without a cache."""

    cross_attentions: LayerTensors = None


@dataclass
class BaseModelOutputWithPoolingAndProjection(_PooledFields):
    """A pooled output plus the states projected into a shared (e.g. text-image) space."""

    projection_state: LayerTensors = None


@dataclass
class SemanticSegmenterOutput(_ScoreFields):
    """One score per label for each pixel: ``logits`` (batch, num_labels, height, width)."""


@dataclass
class DepthEstimatorOutput(ModelOutput):
    loss: OptionalTensor = None
    predicted_depth: OptionalTensor = None
    hidden_states: LayerTensors = None
    attentions: LayerTensors = None


@dataclass
class Seq2SeqModelOutput(ModelOutput):
    last_hidden_state: OptionalTensor = None
    past_key_values: Any = None
    decoder_hidden_states: LayerTensors = None
    decoder_attentions: LayerTensors = None
    cross_attentions: LayerTensors = None
    encoder_last_hidden_state: OptionalTensor = None
    encoder_hidden_states: LayerTensors = None
    encoder_attentions: LayerTensors = None


@dataclass
class _Seq2SeqScoreFields(ModelOutput):
    loss: OptionalTensor = None
    logits: OptionalTensor = None
    past_key_values: Any = None
    decoder_hidden_states: LayerTensors = None
    decoder_attentions: LayerTensors = None
    cross_attentions: LayerTensors = None
    encoder_last_hidden_state: OptionalTensor = None
    encoder_hidden_states: LayerTensors = None
    encoder_attentions: LayerTensors = None


@dataclass
class Seq2SeqLMOutput(_Seq2SeqScoreFields):
    """A sequence-to-sequence language model's output: the decoder's next-token ``logits``."""


@dataclass
class Seq2SeqSequenceClassifierOutput(_Seq2SeqScoreFields):
    """A sequence-to-sequence model's scores per label for each sequence."""
