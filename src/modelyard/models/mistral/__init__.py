"""The Mistral family: its manifest (what the Auto classes and ``modelyard`` export from it) and lazy exports.

Mistral checkpoints ship Llama tokenizers. Importing this package imports no torch.
"""

from modelyard._lazy import lazy_exports
from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="mistral",
    exports={
        "MistralConfig": "configuration_mistral",
        "MistralModel": "modeling_mistral",
        "MistralForCausalLM": "modeling_mistral",
        "MistralForSequenceClassification": "modeling_mistral",
        "MistralForTokenClassification": "modeling_mistral",
        "MistralForQuestionAnswering": "modeling_mistral",
        "MistralPreTrainedModel": "modeling_mistral",
        "LlamaTokenizer": "modelyard.models.llama.tokenization_llama",
        "LlamaTokenizerFast": "modelyard.models.llama.tokenization_llama_fast",
    },
    config="MistralConfig",
    models={
        "AutoModel": "MistralModel",
        "AutoModelForCausalLM": "MistralForCausalLM",
        "AutoModelForSequenceClassification": "MistralForSequenceClassification",
        "AutoModelForTokenClassification": "MistralForTokenClassification",
        "AutoModelForQuestionAnswering": "MistralForQuestionAnswering",
    },
    tokenizer="LlamaTokenizer",
    fast_tokenizer="LlamaTokenizerFast",
)

__getattr__, __dir__ = lazy_exports(__name__, globals(), MANIFEST.module_paths(__name__))
__all__ = sorted(MANIFEST.exports)
