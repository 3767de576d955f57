"""The Llama family: its manifest (what the Auto classes and ``modelyard`` export from it) and lazy exports.

Importing this package imports no torch: each class is imported on first use.
"""

from modelyard._lazy import lazy_exports
from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="llama",
    exports={
        "LlamaConfig": "configuration_llama",
        "LlamaModel": "modeling_llama",
        "LlamaForCausalLM": "modeling_llama",
        "LlamaForSequenceClassification": "modeling_llama",
        "LlamaForTokenClassification": "modeling_llama",
        "LlamaForQuestionAnswering": "modeling_llama",
        "LlamaPreTrainedModel": "modeling_llama",
        "LlamaTokenizer": "tokenization_llama",
        "LlamaTokenizerFast": "tokenization_llama_fast",
    },
    config="LlamaConfig",
    models={
        "AutoModel": "LlamaModel",
        "AutoModelForCausalLM": "LlamaForCausalLM",
        "AutoModelForSequenceClassification": "LlamaForSequenceClassification",
        "AutoModelForTokenClassification": "LlamaForTokenClassification",
        "AutoModelForQuestionAnswering": "LlamaForQuestionAnswering",
    },
    tokenizer="LlamaTokenizer",
    fast_tokenizer="LlamaTokenizerFast",
)

__getattr__, __dir__ = lazy_exports(__name__, globals(), MANIFEST.module_paths(__name__))
__all__ = sorted(MANIFEST.exports)
