"""The OPT family's manifest (what the Auto classes and ``modelyard`` export from it); it imports no torch.

OPT checkpoints use GPT-2's byte-level BPE tokenizer (their ``tokenizer_config.json`` names ``GPT2Tokenizer``),
which the GPT-2 family defines.
"""

from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="opt",
    config="OPTConfig",
    modeling=("OPTModel", "OPTForCausalLM", "OPTForSequenceClassification", "OPTForQuestionAnswering",
              "OPTPreTrainedModel"),
    tokenizer="GPT2Tokenizer",
    fast_tokenizer="GPT2TokenizerFast",
    other_exports={"GPT2Tokenizer": "modelyard.models.gpt2.tokenization_gpt2",
                   "GPT2TokenizerFast": "modelyard.models.gpt2.tokenization_gpt2_fast"},
)
__getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
