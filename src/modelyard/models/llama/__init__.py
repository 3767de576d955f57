"""The Llama family's manifest (what the Auto classes and ``modelyard`` export from it); it imports no torch."""

from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="llama",
    config="LlamaConfig",
    modeling=("LlamaModel", "LlamaForCausalLM", "LlamaForSequenceClassification", "LlamaForTokenClassification",
              "LlamaForQuestionAnswering", "LlamaPreTrainedModel"),
    tokenizer="LlamaTokenizer",
    fast_tokenizer="LlamaTokenizerFast",
)
__getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
