"""The OPT family: its manifest (what the Auto classes and ``modelyard`` export from it) and lazy exports.

OPT checkpoints use GPT-2's byte-level BPE tokenizer (their ``tokenizer_config.json`` names ``GPT2Tokenizer``),
so the family exports GPT-2's tokenizer classes. Importing this package imports no torch: each class is
imported on first use.
"""

from modelyard._lazy import lazy_exports
from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="opt",
    exports={
        "OPTConfig": "configuration_opt",
        "OPTModel": "modeling_opt",
        "OPTForCausalLM": "modeling_opt",
        "OPTForSequenceClassification": "modeling_opt",
        "OPTForQuestionAnswering": "modeling_opt",
        "OPTPreTrainedModel": "modeling_opt",
        "GPT2Tokenizer": "modelyard.models.gpt2.tokenization_gpt2",
        "GPT2TokenizerFast": "modelyard.models.gpt2.tokenization_gpt2_fast",
    },
    config="OPTConfig",
    models={
        "AutoModel": "OPTModel",
        "AutoModelForCausalLM": "OPTForCausalLM",
        "AutoModelForSequenceClassification": "OPTForSequenceClassification",
        "AutoModelForQuestionAnswering": "OPTForQuestionAnswering",
    },
    tokenizer="GPT2Tokenizer",
    fast_tokenizer="GPT2TokenizerFast",
)

__getattr__, __dir__ = lazy_exports(__name__, globals(), MANIFEST.module_paths(__name__))
__all__ = sorted(MANIFEST.exports)
