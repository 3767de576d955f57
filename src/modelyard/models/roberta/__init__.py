"""The RoBERTa family: its manifest (what the Auto classes and ``modelyard`` export from it) and lazy exports.

Importing this package imports no torch: each class is imported on first use.
"""

from modelyard._lazy import lazy_exports
from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="roberta",
    exports={
        "RobertaConfig": "configuration_roberta",
        "RobertaModel": "modeling_roberta",
        "RobertaForMaskedLM": "modeling_roberta",
        "RobertaForCausalLM": "modeling_roberta",
        "RobertaForSequenceClassification": "modeling_roberta",
        "RobertaForTokenClassification": "modeling_roberta",
        "RobertaForQuestionAnswering": "modeling_roberta",
        "RobertaForMultipleChoice": "modeling_roberta",
        "RobertaPreTrainedModel": "modeling_roberta",
        "RobertaTokenizer": "tokenization_roberta",
        "RobertaTokenizerFast": "tokenization_roberta_fast",
    },
    config="RobertaConfig",
    models={
        "AutoModel": "RobertaModel",
        "AutoModelForMaskedLM": "RobertaForMaskedLM",
        "AutoModelForCausalLM": "RobertaForCausalLM",
        "AutoModelForSequenceClassification": "RobertaForSequenceClassification",
        "AutoModelForTokenClassification": "RobertaForTokenClassification",
        "AutoModelForQuestionAnswering": "RobertaForQuestionAnswering",
        "AutoModelForMultipleChoice": "RobertaForMultipleChoice",
    },
    tokenizer="RobertaTokenizer",
    fast_tokenizer="RobertaTokenizerFast",
)

__getattr__, __dir__ = lazy_exports(__name__, globals(), MANIFEST.module_paths(__name__))
__all__ = sorted(MANIFEST.exports)
