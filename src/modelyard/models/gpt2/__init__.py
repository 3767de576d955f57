"""The GPT-2 family's manifest (what the Auto classes and ``modelyard`` export from it); it imports no torch."""

from modelyard.registry import FamilyManifest

MANIFEST = FamilyManifest(
    model_type="gpt2",
    config="GPT2Config",
    modeling=("GPT2Model", "GPT2LMHeadModel", "GPT2DoubleHeadsModel", "GPT2ForSequenceClassification",
              "GPT2ForTokenClassification", "GPT2ForQuestionAnswering", "GPT2PreTrainedModel"),
    tasks={"GPT2LMHeadModel": ("AutoModelForCausalLM", "AutoModelForPreTraining")},
    tokenizer="GPT2Tokenizer",
    fast_tokenizer="GPT2TokenizerFast",
)
__getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
