"""``Wav2Vec2Processor``: a Wav2Vec2 feature extractor and a CTC tokenizer in one object (speech recognition)."""

# No ``from __future__ import annotations`` here: ``__call__``'s ``Unpack[...]`` annotation stays a live object, which
# is how callers (and the reference's tests) see that the processor takes typed options.
from typing import Any, ClassVar

from modelyard.processing import ProcessingKwargs, ProcessorMixin, Unpack


class Wav2Vec2ProcessorKwargs(ProcessingKwargs, total=False):
    """The options of a Wav2Vec2 processor call: the feature extractor's (``audio_kwargs``), the tokenizer's
    (``text_kwargs``) and ``common_kwargs`` (``return_tensors``)."""


class Wav2Vec2Processor(ProcessorMixin):
    """Wraps a :class:`Wav2Vec2FeatureExtractor` and a :class:`Wav2Vec2CTCTokenizer`.

    ``processor(audio, sampling_rate=16000)`` gives ``input_values``; ``processor(text=...)`` gives
    ``input_ids``; both at once give ``input_values`` plus ``labels``. ``decode`` / ``batch_decode`` turn
    predicted ids back into text.
    """

    attributes: ClassVar[list[str]] = ["feature_extractor", "tokenizer"]
    feature_extractor_class: ClassVar[str | None] = "Wav2Vec2FeatureExtractor"
    tokenizer_class: ClassVar[str | None] = "Wav2Vec2CTCTokenizer"

    def __init__(self, feature_extractor: Any = None, tokenizer: Any = None, **kwargs: Any) -> None:
        super().__init__(feature_extractor=feature_extractor, tokenizer=tokenizer, **kwargs)

    def __call__(  # type: ignore[override]  # the same call, its options typed
        self, audio: Any = None, text: Any = None, images: Any = None, **kwargs: Unpack[Wav2Vec2ProcessorKwargs]
    ) -> Any:
        """``audio`` through the feature extractor, ``text`` through the tokenizer (see
        :meth:`ProcessorMixin.__call__` for how options reach each part)."""
        return super().__call__(audio, text, images, **kwargs)

    @property
    def model_input_names(self) -> list[str]:
        """What the model takes: the audio inputs and the CTC ``labels`` (not the tokenizer's ``input_ids``,
        which the processor turns into labels), exactly as the reference lists them."""
        return [*self.feature_extractor.model_input_names, "labels"]


__all__ = ["Wav2Vec2Processor", "Wav2Vec2ProcessorKwargs"]
