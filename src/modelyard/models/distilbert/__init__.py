"""The distilbert family (lazy exports: configuration files import no torch)."""

from modelyard._lazy import lazy_exports

_EXPORTS = {
    "DistilBertConfig": "modelyard.models.distilbert.configuration_distilbert",
    "DistilBertModel": "modelyard.models.distilbert.modeling_distilbert",
    "DistilBertForMaskedLM": "modelyard.models.distilbert.modeling_distilbert",
    "DistilBertForSequenceClassification": "modelyard.models.distilbert.modeling_distilbert",
    "DistilBertForTokenClassification": "modelyard.models.distilbert.modeling_distilbert",
    "DistilBertForQuestionAnswering": "modelyard.models.distilbert.modeling_distilbert",
    "DistilBertForMultipleChoice": "modelyard.models.distilbert.modeling_distilbert",
    "DistilBertPreTrainedModel": "modelyard.models.distilbert.modeling_distilbert",
    "DistilBertTokenizer": "modelyard.models.distilbert.tokenization_distilbert",
    "DistilBertTokenizerFast": "modelyard.models.distilbert.tokenization_distilbert_fast",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
__all__ = sorted(_EXPORTS)
