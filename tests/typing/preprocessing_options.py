"""What a type checker sees of the preprocessing option groups, each declared once as a TypedDict and taken as
``**options: Unpack[...]``: the audio padding options (``AudioPaddingKwargs``: ``Wav2Vec2FeatureExtractor.__call__``
and ``SequenceFeatureExtractor.pad``) and an image processor's options (``ImagePreprocessKwargs``:
``BaseImageProcessor.__call__`` and ``preprocess``). Checked by mypy in ``make lint`` and by
``tests/test_typing.py``; never run.

Each option keeps its name and type; a misspelt one is an error, which each ``type: ignore`` below proves (the
project's mypy settings report an ignore that silences nothing).
"""

from __future__ import annotations

import numpy as np
from typing_extensions import assert_type

from modelyard import BatchFeature, ViTImageProcessor, Wav2Vec2FeatureExtractor


def audio_padding_options(extractor: Wav2Vec2FeatureExtractor, clip: np.ndarray) -> None:
    features = extractor(clip, sampling_rate=16000, padding="max_length", max_length=16000, truncation=True,
                         pad_to_multiple_of=8, return_attention_mask=True, return_tensors="np")
    assert_type(features, BatchFeature)
    assert_type(extractor.pad({"input_values": [clip]}, padding=True, return_tensors="pt"), BatchFeature)
    extractor(clip, sampling_rate=16000, paddding=True)  # type: ignore[call-arg]  # misspelt: rejected
    extractor.pad({"input_values": [clip]}, max_lenght=8)  # type: ignore[call-arg]  # misspelt: rejected
    extractor(clip, sampling_rate=16000, max_length="long")  # type: ignore[arg-type]  # a str is no length


def image_preprocess_options(processor: ViTImageProcessor, image: np.ndarray) -> None:
    assert_type(processor(image, "np", do_resize=False, rescale_factor=0.5, image_mean=[0.5] * 3), BatchFeature)
    assert_type(processor.preprocess([image], return_tensors="pt", size={"height": 8, "width": 8}), BatchFeature)
    processor(image, do_resise=False)  # type: ignore[call-arg]  # misspelt: rejected
    processor.preprocess(image, rescale_factor="half")  # type: ignore[arg-type]  # a str is no factor
