"""The BERT family's manifest (what the Auto classes and ``modelyard`` export from it); it imports no torch."""

from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="bert",
    config="BertConfig",
    modeling=("BertModel", "BertForMaskedLM", "BertForPreTraining", "BertForNextSentencePrediction", "BertLMHeadModel",
              "BertForSequenceClassification", "BertForTokenClassification", "BertForQuestionAnswering",
              "BertForMultipleChoice", "BertPreTrainedModel"),
    tokenizer="BertTokenizer",
    fast_tokenizer="BertTokenizerFast",
)
__getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
