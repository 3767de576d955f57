"""The wav2vec2 family (lazy exports: configuration files import no torch)."""

from modelyard._lazy import lazy_exports

_EXPORTS = {
    "Wav2Vec2Config": "modelyard.models.wav2vec2.configuration_wav2vec2",
    "Wav2Vec2Model": "modelyard.models.wav2vec2.modeling_wav2vec2",
    "Wav2Vec2ForCTC": "modelyard.models.wav2vec2.modeling_wav2vec2",
    "Wav2Vec2ForSequenceClassification": "modelyard.models.wav2vec2.modeling_wav2vec2",
    "Wav2Vec2PreTrainedModel": "modelyard.models.wav2vec2.modeling_wav2vec2",
    "Wav2Vec2FeatureExtractor": "modelyard.models.wav2vec2.feature_extraction_wav2vec2",
    "Wav2Vec2CTCTokenizer": "modelyard.models.wav2vec2.tokenization_wav2vec2",
    "Wav2Vec2Processor": "modelyard.models.wav2vec2.processing_wav2vec2",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
