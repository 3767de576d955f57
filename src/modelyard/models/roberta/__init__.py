"""The RoBERTa family's manifest (what the Auto classes and ``modelyard`` export from it); it imports no torch."""

from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="roberta",
    config="RobertaConfig",
    modeling=("RobertaModel", "RobertaForMaskedLM", "RobertaForCausalLM", "RobertaForSequenceClassification",
              "RobertaForTokenClassification", "RobertaForQuestionAnswering", "RobertaForMultipleChoice",
              "RobertaPreTrainedModel"),
    tokenizer="RobertaTokenizer",
    fast_tokenizer="RobertaTokenizerFast",
)
__getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
