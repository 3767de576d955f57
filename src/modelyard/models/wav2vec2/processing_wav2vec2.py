"""``Wav2Vec2Processor``: a Wav2Vec2 feature extractor and a CTC tokenizer in one object (speech recognition)."""

from __future__ import annotations

from typing import Any, ClassVar

from modelyard.processing import ProcessorMixin


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

    @property
    def model_input_names(self) -> list[str]:
        """What the model takes: the audio inputs and the CTC ``labels`` (not the tokenizer's ``input_ids``,
        which the processor turns into labels), exactly as the reference lists them."""
        return [*self.feature_extractor.model_input_names, "labels"]


__all__ = ["Wav2Vec2Processor"]
