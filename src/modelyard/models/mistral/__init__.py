"""The Mistral family's manifest (what the Auto classes and ``modelyard`` export from it); it imports no torch.

Mistral checkpoints use Llama's tokenizers, which the Llama family defines.
"""

from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="mistral",
    config="MistralConfig",
    modeling=("MistralModel", "MistralForCausalLM", "MistralForSequenceClassification",
              "MistralForTokenClassification", "MistralForQuestionAnswering", "MistralPreTrainedModel"),
    tokenizer="LlamaTokenizer",
    fast_tokenizer="LlamaTokenizerFast",
    other_exports={"LlamaTokenizer": "modelyard.models.llama.tokenization_llama",
                   "LlamaTokenizerFast": "modelyard.models.llama.tokenization_llama_fast"},
)
__getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
