"""The DistilBERT family: its manifest (what the Auto classes and ``modelyard`` export from it) and lazy exports.

Importing this package imports no torch: each class is imported on first use.
"""

from modelyard._lazy import lazy_exports
from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="distilbert",
    exports={
        "DistilBertConfig": "configuration_distilbert",
        "DistilBertModel": "modeling_distilbert",
        "DistilBertForMaskedLM": "modeling_distilbert",
        "DistilBertForSequenceClassification": "modeling_distilbert",
        "DistilBertForTokenClassification": "modeling_distilbert",
        "DistilBertForQuestionAnswering": "modeling_distilbert",
        "DistilBertForMultipleChoice": "modeling_distilbert",
        "DistilBertPreTrainedModel": "modeling_distilbert",
        "DistilBertTokenizer": "tokenization_distilbert",
        "DistilBertTokenizerFast": "tokenization_distilbert_fast",
    },
    config="DistilBertConfig",
    models={
        "AutoModel": "DistilBertModel",
        "AutoModelForMaskedLM": "DistilBertForMaskedLM",
        "AutoModelForPreTraining": "DistilBertForMaskedLM",
        "AutoModelForSequenceClassification": "DistilBertForSequenceClassification",
        "AutoModelForTokenClassification": "DistilBertForTokenClassification",
        "AutoModelForQuestionAnswering": "DistilBertForQuestionAnswering",
        "AutoModelForMultipleChoice": "DistilBertForMultipleChoice",
    },
    tokenizer="DistilBertTokenizer",
    fast_tokenizer="DistilBertTokenizerFast",
)

__getattr__, __dir__ = lazy_exports(__name__, globals(), MANIFEST.module_paths(__name__))
__all__ = sorted(MANIFEST.exports)
