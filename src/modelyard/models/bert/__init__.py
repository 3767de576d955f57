"""The BERT family: its manifest (what the Auto classes and ``modelyard`` export from it) and lazy exports.

Importing this package imports no torch: each class is imported on first use.
"""

from modelyard._lazy import lazy_exports
from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="bert",
    exports={
        "BertConfig": "configuration_bert",
        "BertModel": "modeling_bert",
        "BertForMaskedLM": "modeling_bert",
        "BertForPreTraining": "modeling_bert",
        "BertForNextSentencePrediction": "modeling_bert",
        "BertLMHeadModel": "modeling_bert",
        "BertForSequenceClassification": "modeling_bert",
        "BertForTokenClassification": "modeling_bert",
        "BertForQuestionAnswering": "modeling_bert",
        "BertForMultipleChoice": "modeling_bert",
        "BertPreTrainedModel": "modeling_bert",
        "BertTokenizer": "tokenization_bert",
        "BertTokenizerFast": "tokenization_bert_fast",
    },
    config="BertConfig",
    models={
        "AutoModel": "BertModel",
        "AutoModelForMaskedLM": "BertForMaskedLM",
        "AutoModelForCausalLM": "BertLMHeadModel",
        "AutoModelForPreTraining": "BertForPreTraining",
        "AutoModelForNextSentencePrediction": "BertForNextSentencePrediction",
        "AutoModelForSequenceClassification": "BertForSequenceClassification",
        "AutoModelForTokenClassification": "BertForTokenClassification",
        "AutoModelForQuestionAnswering": "BertForQuestionAnswering",
        "AutoModelForMultipleChoice": "BertForMultipleChoice",
    },
    tokenizer="BertTokenizer",
    fast_tokenizer="BertTokenizerFast",
)

__getattr__, __dir__ = lazy_exports(__name__, globals(), MANIFEST.module_paths(__name__))
__all__ = sorted(MANIFEST.exports)
