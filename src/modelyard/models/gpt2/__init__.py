"""The GPT-2 family: its manifest (what the Auto classes and ``modelyard`` export from it) and lazy exports.

Importing this package imports no torch: each class is imported on first use.
"""

from modelyard._lazy import lazy_exports
from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="gpt2",
    exports={
        "GPT2Config": "configuration_gpt2",
        "GPT2Model": "modeling_gpt2",
        "GPT2LMHeadModel": "modeling_gpt2",
        "GPT2DoubleHeadsModel": "modeling_gpt2",
        "GPT2ForSequenceClassification": "modeling_gpt2",
        "GPT2ForTokenClassification": "modeling_gpt2",
        "GPT2ForQuestionAnswering": "modeling_gpt2",
        "GPT2PreTrainedModel": "modeling_gpt2",
        "GPT2Tokenizer": "tokenization_gpt2",
        "GPT2TokenizerFast": "tokenization_gpt2_fast",
    },
    config="GPT2Config",
    models={
        "AutoModel": "GPT2Model",
        "AutoModelForCausalLM": "GPT2LMHeadModel",
        "AutoModelForPreTraining": "GPT2LMHeadModel",
        "AutoModelForSequenceClassification": "GPT2ForSequenceClassification",
        "AutoModelForTokenClassification": "GPT2ForTokenClassification",
        "AutoModelForQuestionAnswering": "GPT2ForQuestionAnswering",
    },
    tokenizer="GPT2Tokenizer",
    fast_tokenizer="GPT2TokenizerFast",
)

__getattr__, __dir__ = lazy_exports(__name__, globals(), MANIFEST.module_paths(__name__))
__all__ = sorted(MANIFEST.exports)
