"""The Qwen2 family: its manifest (what the Auto classes and ``modelyard`` export from it) and lazy exports.

Importing this package imports no torch.
"""

from modelyard._lazy import lazy_exports
from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="qwen2",
    exports={
        "Qwen2Config": "configuration_qwen2",
        "Qwen2Model": "modeling_qwen2",
        "Qwen2ForCausalLM": "modeling_qwen2",
        "Qwen2ForSequenceClassification": "modeling_qwen2",
        "Qwen2ForTokenClassification": "modeling_qwen2",
        "Qwen2ForQuestionAnswering": "modeling_qwen2",
        "Qwen2PreTrainedModel": "modeling_qwen2",
        "Qwen2Tokenizer": "tokenization_qwen2",
        "Qwen2TokenizerFast": "tokenization_qwen2_fast",
    },
    config="Qwen2Config",
    models={
        "AutoModel": "Qwen2Model",
        "AutoModelForCausalLM": "Qwen2ForCausalLM",
        "AutoModelForSequenceClassification": "Qwen2ForSequenceClassification",
        "AutoModelForTokenClassification": "Qwen2ForTokenClassification",
        "AutoModelForQuestionAnswering": "Qwen2ForQuestionAnswering",
    },
    tokenizer="Qwen2Tokenizer",
    fast_tokenizer="Qwen2TokenizerFast",
)

__getattr__, __dir__ = lazy_exports(__name__, globals(), MANIFEST.module_paths(__name__))
__all__ = sorted(MANIFEST.exports)
