"""The DistilBERT family's manifest (what the Auto classes and ``modelyard`` export from it); it imports no torch."""

from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="distilbert",
    config="DistilBertConfig",
    modeling=("DistilBertModel", "DistilBertForMaskedLM", "DistilBertForSequenceClassification",
              "DistilBertForTokenClassification", "DistilBertForQuestionAnswering", "DistilBertForMultipleChoice",
              "DistilBertPreTrainedModel"),
    tasks={"DistilBertForMaskedLM": ("AutoModelForMaskedLM", "AutoModelForPreTraining")},
    tokenizer="DistilBertTokenizer",
    fast_tokenizer="DistilBertTokenizerFast",
)
__getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
