"""The Qwen2 family's manifest (what the Auto classes and ``modelyard`` export from it); it imports no torch."""

from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="qwen2",
    config="Qwen2Config",
    modeling=("Qwen2Model", "Qwen2ForCausalLM", "Qwen2ForSequenceClassification", "Qwen2ForTokenClassification",
              "Qwen2ForQuestionAnswering", "Qwen2PreTrainedModel"),
    tokenizer="Qwen2Tokenizer",
    fast_tokenizer="Qwen2TokenizerFast",
)
__getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
