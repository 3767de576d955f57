"""The Wav2Vec2 family's manifest (what the Auto classes and ``modelyard`` export from it); it imports no torch."""

from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="wav2vec2",
    config="Wav2Vec2Config",
    modeling=("Wav2Vec2Model", "Wav2Vec2ForCTC", "Wav2Vec2ForSequenceClassification",
              "Wav2Vec2ForAudioFrameClassification", "Wav2Vec2ForXVector", "Wav2Vec2ForPreTraining",
              "Wav2Vec2ForMaskedLM", "Wav2Vec2PreTrainedModel"),
    tasks={"Wav2Vec2ForSequenceClassification": ("AutoModelForAudioClassification",)},  # an audio classifier
    tokenizer="Wav2Vec2CTCTokenizer",
    feature_extractor="Wav2Vec2FeatureExtractor",
    processor="Wav2Vec2Processor",
    other_exports={"Wav2Vec2Tokenizer": "tokenization_wav2vec2"},  # the older, deprecated tokenizer
)
__getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
