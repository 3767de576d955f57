"""The Wav2Vec2 family: its manifest (what the Auto classes and ``modelyard`` export from it) and lazy exports.

Importing this package imports no torch: each class is imported on first use.
"""

from modelyard._lazy import lazy_exports
from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="wav2vec2",
    exports={
        "Wav2Vec2Config": "configuration_wav2vec2",
        "Wav2Vec2Model": "modeling_wav2vec2",
        "Wav2Vec2ForCTC": "modeling_wav2vec2",
        "Wav2Vec2ForSequenceClassification": "modeling_wav2vec2",
        "Wav2Vec2ForAudioFrameClassification": "modeling_wav2vec2",
        "Wav2Vec2ForXVector": "modeling_wav2vec2",
        "Wav2Vec2ForPreTraining": "modeling_wav2vec2",
        "Wav2Vec2ForMaskedLM": "modeling_wav2vec2",
        "Wav2Vec2PreTrainedModel": "modeling_wav2vec2",
        "Wav2Vec2FeatureExtractor": "feature_extraction_wav2vec2",
        "Wav2Vec2CTCTokenizer": "tokenization_wav2vec2",
        "Wav2Vec2Tokenizer": "tokenization_wav2vec2",
        "Wav2Vec2Processor": "processing_wav2vec2",
    },
    config="Wav2Vec2Config",
    models={
        "AutoModel": "Wav2Vec2Model",
        "AutoModelForCTC": "Wav2Vec2ForCTC",
        "AutoModelForAudioClassification": "Wav2Vec2ForSequenceClassification",
        "AutoModelForAudioFrameClassification": "Wav2Vec2ForAudioFrameClassification",
        "AutoModelForAudioXVector": "Wav2Vec2ForXVector",
        "AutoModelForPreTraining": "Wav2Vec2ForPreTraining",
        "AutoModelForMaskedLM": "Wav2Vec2ForMaskedLM",
    },
    tokenizer="Wav2Vec2CTCTokenizer",
    feature_extractor="Wav2Vec2FeatureExtractor",
    processor="Wav2Vec2Processor",
)

__getattr__, __dir__ = lazy_exports(__name__, globals(), MANIFEST.module_paths(__name__))
__all__ = sorted(MANIFEST.exports)
