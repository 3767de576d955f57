"""The bert family (lazy exports: configuration files import no torch)."""

from modelyard._lazy import lazy_exports

_EXPORTS = {
    "BertConfig": "modelyard.models.bert.configuration_bert",
    "BertModel": "modelyard.models.bert.modeling_bert",
    "BertForMaskedLM": "modelyard.models.bert.modeling_bert",
    "BertForSequenceClassification": "modelyard.models.bert.modeling_bert",
    "BertForTokenClassification": "modelyard.models.bert.modeling_bert",
    "BertForQuestionAnswering": "modelyard.models.bert.modeling_bert",
    "BertForMultipleChoice": "modelyard.models.bert.modeling_bert",
    "BertPreTrainedModel": "modelyard.models.bert.modeling_bert",
    "BertTokenizer": "modelyard.models.bert.tokenization_bert",
    "BertTokenizerFast": "modelyard.models.bert.tokenization_bert_fast",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
