"""modelyard: define, configure, save, share and load model architectures on PyTorch.

The public API is lazy (PEP 562): ``import modelyard`` and ``from modelyard import AutoConfig`` import neither
torch nor any model family; each name is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "PretrainedConfig": "modelyard.configuration",
    "PreTrainedModel": "modelyard.modeling",
    "ModelOutput": "modelyard.outputs",
    "BaseModelOutput": "modelyard.outputs",
    "BaseModelOutputWithPooling": "modelyard.outputs",
    "MaskedLMOutput": "modelyard.outputs",
    "SequenceClassifierOutput": "modelyard.outputs",
    "TokenClassifierOutput": "modelyard.outputs",
    "QuestionAnsweringModelOutput": "modelyard.outputs",
    "MultipleChoiceModelOutput": "modelyard.outputs",
    "ImageClassifierOutput": "modelyard.outputs",
    "CausalLMOutput": "modelyard.outputs",
    "AutoConfig": "modelyard.auto",
    "AutoModel": "modelyard.auto",
    "AutoModelForMaskedLM": "modelyard.auto",
    "AutoModelForSequenceClassification": "modelyard.auto",
    "AutoModelForTokenClassification": "modelyard.auto",
    "AutoModelForQuestionAnswering": "modelyard.auto",
    "AutoModelForMultipleChoice": "modelyard.auto",
    "AutoModelForImageClassification": "modelyard.auto",
    "AutoModelForCTC": "modelyard.auto",
    "AutoModelForAudioClassification": "modelyard.auto",
    "AutoTokenizer": "modelyard.auto",
    "AutoFeatureExtractor": "modelyard.auto",
    "AutoImageProcessor": "modelyard.auto",
    "AutoProcessor": "modelyard.auto",
    "PreTrainedTokenizerBase": "modelyard.tokenization.base",
    "BatchEncoding": "modelyard.tokenization.base",
    "AddedToken": "modelyard.tokenization.base",
    "PreTrainedTokenizer": "modelyard.tokenization.slow",
    "PreTrainedTokenizerFast": "modelyard.tokenization.fast",
    "FeatureExtractionMixin": "modelyard.feature_extraction",
    "BatchFeature": "modelyard.feature_extraction",
    "SequenceFeatureExtractor": "modelyard.feature_extraction",
    "ImageFeatureExtractionMixin": "modelyard.image_processing",
    "BaseImageProcessor": "modelyard.image_processing",
    "ProcessorMixin": "modelyard.processing",
    "clear_module_cache": "modelyard.dynamic_modules",
    "BertConfig": "modelyard.models.bert.configuration_bert",
    "BertModel": "modelyard.models.bert.modeling_bert",
    "BertForMaskedLM": "modelyard.models.bert.modeling_bert",
    "BertForSequenceClassification": "modelyard.models.bert.modeling_bert",
    "BertForTokenClassification": "modelyard.models.bert.modeling_bert",
    "BertForQuestionAnswering": "modelyard.models.bert.modeling_bert",
    "BertForMultipleChoice": "modelyard.models.bert.modeling_bert",
    "BertPreTrainedModel": "modelyard.models.bert.modeling_bert",
    "BertTokenizer": "modelyard.models.bert.tokenization_bert",
    "BertTokenizerFast": "modelyard.models.bert.tokenization_bert_fast",
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
    "ViTConfig": "modelyard.models.vit.configuration_vit",
    "ViTModel": "modelyard.models.vit.modeling_vit",
    "ViTForImageClassification": "modelyard.models.vit.modeling_vit",
    "ViTPreTrainedModel": "modelyard.models.vit.modeling_vit",
    "ViTFeatureExtractor": "modelyard.models.vit.feature_extraction_vit",
    "ViTImageProcessor": "modelyard.models.vit.image_processing_vit",
    "Wav2Vec2Config": "modelyard.models.wav2vec2.configuration_wav2vec2",
    "Wav2Vec2Model": "modelyard.models.wav2vec2.modeling_wav2vec2",
    "Wav2Vec2ForCTC": "modelyard.models.wav2vec2.modeling_wav2vec2",
    "Wav2Vec2ForSequenceClassification": "modelyard.models.wav2vec2.modeling_wav2vec2",
    "Wav2Vec2PreTrainedModel": "modelyard.models.wav2vec2.modeling_wav2vec2",
    "Wav2Vec2FeatureExtractor": "modelyard.models.wav2vec2.feature_extraction_wav2vec2",
    "Wav2Vec2CTCTokenizer": "modelyard.models.wav2vec2.tokenization_wav2vec2",
    "Wav2Vec2Processor": "modelyard.models.wav2vec2.processing_wav2vec2",
    "ResNetConfig": "modelyard.models.resnet.configuration_resnet",
    "ResNetModel": "modelyard.models.resnet.modeling_resnet",
    "ResNetForImageClassification": "modelyard.models.resnet.modeling_resnet",
    "ResNetPreTrainedModel": "modelyard.models.resnet.modeling_resnet",
    # training (needs the `train` extra: accelerate)
    "Trainer": "modelyard.training.trainer",
    "TrainingArguments": "modelyard.training.arguments",
    "TrainerCallback": "modelyard.training.callbacks",
    "TrainerState": "modelyard.training.state",
    "TrainerControl": "modelyard.training.state",
    "EarlyStoppingCallback": "modelyard.training.callbacks",
    "EvalPrediction": "modelyard.training.outputs",
    "default_data_collator": "modelyard.training.collators",
    "DataCollatorWithPadding": "modelyard.training.collators",
    "DataCollatorForLanguageModeling": "modelyard.training.collators",
    "set_seed": "modelyard.training.seed",
}

# Submodules reachable as attributes (``modelyard.logging.set_verbosity_error()``), kept out of __all__ so a
# star import never shadows the standard library's ``logging``.
_SUBMODULES = {"logging": "modelyard.logging"}

__getattr__, __dir__ = lazy_exports(__name__, globals(), {**_EXPORTS, **_SUBMODULES})
__all__ = sorted(_EXPORTS)  # noqa: PLE0605 (names resolved lazily)

if TYPE_CHECKING:  # the same names, for type checkers and IDEs
    from modelyard.auto import (  # noqa: F401
        AutoConfig,
        AutoFeatureExtractor,
        AutoImageProcessor,
        AutoModel,
        AutoModelForAudioClassification,
        AutoModelForCTC,
        AutoModelForImageClassification,
        AutoModelForMaskedLM,
        AutoModelForMultipleChoice,
        AutoModelForQuestionAnswering,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoProcessor,
        AutoTokenizer,
    )
    from modelyard.configuration import PretrainedConfig  # noqa: F401
    from modelyard.dynamic_modules import clear_module_cache  # noqa: F401
    from modelyard.feature_extraction import BatchFeature, FeatureExtractionMixin, SequenceFeatureExtractor  # noqa: F401
    from modelyard.image_processing import BaseImageProcessor, ImageFeatureExtractionMixin  # noqa: F401
    from modelyard.modeling import PreTrainedModel  # noqa: F401
    from modelyard.models.bert.configuration_bert import BertConfig  # noqa: F401
    from modelyard.models.bert.modeling_bert import (  # noqa: F401
        BertForMaskedLM,
        BertForMultipleChoice,
        BertForQuestionAnswering,
        BertForSequenceClassification,
        BertForTokenClassification,
        BertModel,
        BertPreTrainedModel,
    )
    from modelyard.models.bert.tokenization_bert import BertTokenizer  # noqa: F401
    from modelyard.models.bert.tokenization_bert_fast import BertTokenizerFast  # noqa: F401
    from modelyard.models.distilbert.configuration_distilbert import DistilBertConfig  # noqa: F401
    from modelyard.models.distilbert.modeling_distilbert import (  # noqa: F401
        DistilBertForMaskedLM,
        DistilBertForMultipleChoice,
        DistilBertForQuestionAnswering,
        DistilBertForSequenceClassification,
        DistilBertForTokenClassification,
        DistilBertModel,
        DistilBertPreTrainedModel,
    )
    from modelyard.models.distilbert.tokenization_distilbert import DistilBertTokenizer  # noqa: F401
    from modelyard.models.distilbert.tokenization_distilbert_fast import DistilBertTokenizerFast  # noqa: F401
    from modelyard.models.resnet.configuration_resnet import ResNetConfig  # noqa: F401
    from modelyard.models.resnet.modeling_resnet import (  # noqa: F401
        ResNetForImageClassification,
        ResNetModel,
        ResNetPreTrainedModel,
    )
    from modelyard.models.vit.configuration_vit import ViTConfig  # noqa: F401
    from modelyard.models.vit.feature_extraction_vit import ViTFeatureExtractor  # noqa: F401
    from modelyard.models.vit.image_processing_vit import ViTImageProcessor  # noqa: F401
    from modelyard.models.vit.modeling_vit import ViTForImageClassification, ViTModel, ViTPreTrainedModel  # noqa: F401
    from modelyard.models.wav2vec2.configuration_wav2vec2 import Wav2Vec2Config  # noqa: F401
    from modelyard.models.wav2vec2.feature_extraction_wav2vec2 import Wav2Vec2FeatureExtractor  # noqa: F401
    from modelyard.models.wav2vec2.modeling_wav2vec2 import (  # noqa: F401
        Wav2Vec2ForCTC,
        Wav2Vec2ForSequenceClassification,
        Wav2Vec2Model,
        Wav2Vec2PreTrainedModel,
    )
    from modelyard.models.wav2vec2.processing_wav2vec2 import Wav2Vec2Processor  # noqa: F401
    from modelyard.models.wav2vec2.tokenization_wav2vec2 import Wav2Vec2CTCTokenizer  # noqa: F401
    from modelyard.outputs import (  # noqa: F401
        BaseModelOutput,
        BaseModelOutputWithPooling,
        CausalLMOutput,
        ImageClassifierOutput,
        MaskedLMOutput,
        ModelOutput,
        MultipleChoiceModelOutput,
        QuestionAnsweringModelOutput,
        SequenceClassifierOutput,
        TokenClassifierOutput,
    )
    from modelyard.processing import ProcessorMixin  # noqa: F401
    from modelyard.tokenization.base import AddedToken, BatchEncoding, PreTrainedTokenizerBase  # noqa: F401
    from modelyard.tokenization.fast import PreTrainedTokenizerFast  # noqa: F401
    from modelyard.tokenization.slow import PreTrainedTokenizer  # noqa: F401
    from modelyard.training.arguments import TrainingArguments  # noqa: F401
    from modelyard.training.callbacks import EarlyStoppingCallback, TrainerCallback  # noqa: F401
    from modelyard.training.collators import (  # noqa: F401
        DataCollatorForLanguageModeling,
        DataCollatorWithPadding,
        default_data_collator,
    )
    from modelyard.training.outputs import EvalPrediction  # noqa: F401
    from modelyard.training.seed import set_seed  # noqa: F401
    from modelyard.training.state import TrainerControl, TrainerState  # noqa: F401
    from modelyard.training.trainer import Trainer  # noqa: F401
