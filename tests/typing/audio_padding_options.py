"""What a type checker sees of the audio padding options (``AudioPaddingKwargs``, declared once and taken as
``**options: Unpack[...]`` by ``Wav2Vec2FeatureExtractor.__call__`` and ``SequenceFeatureExtractor.pad``);
checked by mypy in ``make lint`` and by ``tests/test_typing.py``. Never run.

Each option keeps its name and type; a misspelt one is an error, which the ``type: ignore`` below proves (the
project's mypy settings report an ignore that silences nothing).
"""

from __future__ import annotations

import numpy as np
from typing_extensions import assert_type

from modelyard import BatchFeature, Wav2Vec2FeatureExtractor


def audio_padding_options(extractor: Wav2Vec2FeatureExtractor, clip: np.ndarray) -> None:
    features = extractor(clip, sampling_rate=16000, padding="max_length", max_length=16000, truncation=True,
                         pad_to_multiple_of=8, return_attention_mask=True, return_tensors="np")
    assert_type(features, BatchFeature)
    assert_type(extractor.pad({"input_values": [clip]}, padding=True, return_tensors="pt"), BatchFeature)
    extractor(clip, sampling_rate=16000, paddding=True)  # type: ignore[call-arg]  # misspelt: rejected
    extractor.pad({"input_values": [clip]}, max_lenght=8)  # type: ignore[call-arg]  # misspelt: rejected
    extractor(clip, sampling_rate=16000, max_length="long")  # type: ignore[arg-type]  # a str is no length
