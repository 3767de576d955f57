"""``AutoModel`` and the task Auto classes: pick the model class from the configuration's class."""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from modelyard.auto.base import CustomCode, PretrainedAutoClass
from modelyard.auto.configuration_auto import CONFIG_TABLE, resolve_config_class
from modelyard.configuration import PretrainedConfig
from modelyard.errors import RegistrationError, UnexpectedArgumentError, UnknownModelTypeError, WeightsError
from modelyard.hub.files import FileSource, Location
from modelyard.options import HubOptions, unknown_keywords_error
from modelyard.registry import MODEL_TASKS, ConfigKeyedTable

if TYPE_CHECKING:
    from modelyard.generation.utils import GenerationMixin
    from modelyard.modeling import PreTrainedModel

    class GenerativeModel(PreTrainedModel, GenerationMixin):
        """What a type checker sees of a model with a language-model head: a PreTrainedModel with generate()."""

# What an Auto class's from_pretrained / from_config give to a type checker: the class is chosen at run time
# (a registered or custom-code class, a transformers class for transformers-based custom code), so the
# static type is the common base every one of them has the API of.
M = TypeVar("M", bound="PreTrainedModel")


def _task_table(auto_class: str) -> ConfigKeyedTable:
    """The table of one Auto model class, filled from the family manifests' ``models[auto_class]``."""
    return ConfigKeyedTable(auto_class, CONFIG_TABLE)


class _AutoModel(PretrainedAutoClass[M]):
    """Shared behaviour; each subclass names its table and the model type it gives (``M``).

    ``from_pretrained(location, **kwargs)`` loads a pretrained model: besides where the files come from, the
    :class:`~modelyard.weights.load_options.LoadOptions` say how the model loads (``output_loading_info=True``
    also returns the :class:`~modelyard.weights.report.LoadReport`), ``config=`` gives a config instead of the
    saved one, and every other keyword overrides a config attribute or is an argument of the model class.
    """

    _ENTRY_POINTS = ("from_pretrained(...)", "from_config(config)")
    _table: ClassVar[ConfigKeyedTable]

    @classmethod
    def register(cls, config_class: type[PretrainedConfig], model_class: type, exist_ok: bool = False) -> None:
        """Use ``model_class`` for configs of ``config_class``; its ``config_class`` must be the same."""
        cls._table.register(config_class, model_class, exist_ok=exist_ok)

    @classmethod
    def model_class_for(cls, config: PretrainedConfig, code: CustomCode | None = None) -> type[Any]:
        """The model class this Auto class builds for ``config``; custom code behind the trust gate, as ``code``
        says (its source, ``trust_remote_code``, ``code_revision``; by default the config's own source, nothing
        said)."""
        model_class, _ = cls._resolve_model_class(config, code or CustomCode(None))
        return model_class

    @classmethod
    def _resolve_model_class(cls, config: PretrainedConfig, code: CustomCode) -> tuple[type[Any], Any]:
        """``(class, stand_in_for)``: ``stand_in_for`` is the ``auto_map`` entry a built-in class replaces
        because the user did not consent to custom code; such a class must prove it fits the weights."""
        auto_map = getattr(config, "auto_map", None) or {}
        builtin = cls._table.get(type(config))
        reference = auto_map.get(cls.__name__)
        if reference is not None:
            from modelyard import dynamic_modules

            if code.source is None:
                code = code.at(dynamic_modules.source_for_config(config))
            if code.trust_remote_code is None and dynamic_modules.loaded_from(type(config), code.source):
                # the config's own code from this very source was already accepted
                code = dataclasses.replace(code, trust_remote_code=True)
            remote = code.resolve(reference, auto_class=cls.__name__, builtin=builtin)
            if remote is not None:
                from modelyard.generation.utils import add_generation_mixin_to_remote_model

                return add_generation_mixin_to_remote_model(remote), None
            if builtin is not None:  # (resolve_remote_class gives a class when there is no built-in one)
                return builtin, reference
        if builtin is None:
            custom = f" Its auto_map names custom code only for: {', '.join(sorted(auto_map))}." if auto_map else ""
            raise UnknownModelTypeError(
                f"{cls.__name__} has no model for {type(config).__name__} (model_type {config.model_type!r}).{custom} "
                f"Model types it supports: {', '.join(cls._table.model_types())}. Register one with "
                f"{cls.__name__}.register({type(config).__name__}, YourModelClass)."
            )
        return builtin, None

    @classmethod
    def from_config(cls, config: PretrainedConfig, *, trust_remote_code: bool | None = None, **kwargs: Any) -> M:
        """A randomly initialised model for ``config`` (no weights are loaded)."""
        code = CustomCode(None, trust_remote_code, kwargs.pop("code_revision", None))
        model_class = cls.model_class_for(config, code)
        dtype = kwargs.pop("dtype", kwargs.pop("torch_dtype", None))
        if kwargs:
            raise UnexpectedArgumentError(f"{cls.__name__}.from_config got unexpected arguments {sorted(kwargs)}.")
        model: M = model_class(config)
        if dtype is not None:
            from modelyard.modeling import resolve_dtype

            model = model.to(resolve_dtype(dtype))
        return model

    @classmethod
    def _load(cls, location: Location, hub: HubOptions, code: CustomCode, *args: Any, **kwargs: Any) -> Any:
        from modelyard.dynamic_modules import load_pretrained
        from modelyard.weights.load_options import LoadOptions

        # One door: the options split once, one source opened, the classes picked, the loader called.
        source = hub.open(location)
        code = code.at(source)
        config = kwargs.pop("config", None)
        # Load options go to the model class; every other keyword is a config override (or a model argument).
        load_options = {k: kwargs.pop(k) for k in list(kwargs) if k in LoadOptions.accepted_names()}
        overrides = kwargs
        config_, model_class, stand_in_for, options = cls._pick(source, code, config, overrides, load_options)
        if stand_in_for is None:
            return load_pretrained(model_class, source, config=config_, **options)
        try:
            return model_class.from_pretrained(source, config=config_, _require_fit=True, **options)
        except WeightsError as err:
            from modelyard.dynamic.stand_in import StandInMisfitError

            # Asks on a terminal (trust_remote_code=None) or raises the trust error with the reason.
            code.resolve(
                stand_in_for,
                auto_class=cls.__name__,
                builtin=None,
                misfit=str(err)
                if isinstance(err, StandInMisfitError)
                else f"the weights do not fit the built-in {model_class.__name__}: {err}",
            )
        # The user said yes: the repository's code throughout (its config class included), same source and options.
        trusted = dataclasses.replace(code, trust_remote_code=True)
        config_, model_class, _, options = cls._pick(source, trusted, config, overrides, load_options)
        return load_pretrained(model_class, source, config=config_, **options)

    @classmethod
    def _pick(
        cls,
        source: FileSource,
        code: CustomCode,
        config: PretrainedConfig | None,
        overrides: dict[str, Any],
        load_options: dict[str, Any],
    ) -> tuple[PretrainedConfig, type[Any], Any, dict[str, Any]]:
        """The configuration (read from ``source`` unless given, with ``overrides`` applied), the model class
        (custom code of ``source`` as ``code`` says), the ``auto_map`` entry a built-in class stands in for (or
        None) and the options for its loader."""
        from modelyard.modeling import PreTrainedModel

        where = f"{cls.__name__}.from_pretrained"
        if config is None:
            config_dict = PretrainedConfig._config_dict_at(source)
            config_class = resolve_config_class(config_dict, code=code)
            config, unused = config_class.from_dict(config_dict, return_unused_kwargs=True, **overrides)
        else:
            config = copy.deepcopy(config)
            unused = {k: v for k, v in overrides.items() if not hasattr(config, k)}
            config.update({k: v for k, v in overrides.items() if k not in unused})
        model_class, stand_in_for = cls._resolve_model_class(config, code)
        # What the config does not take may be an argument of the model class (add_pooling_layer=...).
        init_args = model_class.init_arguments() if hasattr(model_class, "init_arguments") else frozenset()
        options = {**load_options, **{k: unused.pop(k) for k in list(unused) if k in init_args}}
        if unused:
            raise unknown_keywords_error(
                where, unused, type(config).known_attributes() | PreTrainedModel.load_option_names() | init_args,
                f"loading options, attributes of {type(config).__name__} nor arguments of the model class",
            )
        return config, model_class, stand_in_for, options


class AutoModel(_AutoModel["PreTrainedModel"]):
    _table = _task_table("AutoModel")


class AutoModelForMaskedLM(_AutoModel["PreTrainedModel"]):
    _table = _task_table("AutoModelForMaskedLM")


class AutoModelForCausalLM(_AutoModel["GenerativeModel"]):
    """Decoders with a language-modelling head (GPT-2, Llama, Mistral, Qwen2, or custom code's auto_map)."""

    _table = _task_table("AutoModelForCausalLM")


class AutoModelForSequenceClassification(_AutoModel["PreTrainedModel"]):
    _table = _task_table("AutoModelForSequenceClassification")


class AutoModelForTokenClassification(_AutoModel["PreTrainedModel"]):
    _table = _task_table("AutoModelForTokenClassification")


class AutoModelForQuestionAnswering(_AutoModel["PreTrainedModel"]):
    _table = _task_table("AutoModelForQuestionAnswering")


class AutoModelForMultipleChoice(_AutoModel["PreTrainedModel"]):
    _table = _task_table("AutoModelForMultipleChoice")


class AutoModelForImageClassification(_AutoModel["PreTrainedModel"]):
    _table = _task_table("AutoModelForImageClassification")


class AutoModelForCTC(_AutoModel["PreTrainedModel"]):
    _table = _task_table("AutoModelForCTC")


class AutoModelForAudioClassification(_AutoModel["PreTrainedModel"]):
    _table = _task_table("AutoModelForAudioClassification")


class AutoModelForAudioFrameClassification(_AutoModel["PreTrainedModel"]):
    """A label per audio frame (e.g. speaker diarization: which speakers talk in each frame)."""

    _table = _task_table("AutoModelForAudioFrameClassification")


class AutoModelForAudioXVector(_AutoModel["PreTrainedModel"]):
    """Speaker embeddings (x-vectors) for speaker verification."""

    _table = _task_table("AutoModelForAudioXVector")


class AutoModelForPreTraining(_AutoModel["PreTrainedModel"]):
    """The class each family was pre-trained as (BERT's masked-LM + next-sentence heads, Wav2Vec2's
    quantizer and contrastive heads, a decoder's language-model head)."""

    _table = _task_table("AutoModelForPreTraining")


class AutoModelForNextSentencePrediction(_AutoModel["PreTrainedModel"]):
    _table = _task_table("AutoModelForNextSentencePrediction")


class AutoModelForMaskedImageModeling(_AutoModel["PreTrainedModel"]):
    _table = _task_table("AutoModelForMaskedImageModeling")


class AutoBackbone(_AutoModel["PreTrainedModel"]):
    """Feature-map backbones for detection and segmentation heads (``out_features`` / ``out_indices`` pick the
    stages: ``AutoBackbone.from_pretrained(path, out_features=["stage2", "stage4"])``)."""

    _table = _task_table("AutoBackbone")


AUTO_MODEL_CLASSES: dict[str, type[_AutoModel]] = {
    klass.__name__: klass
    for klass in (
        AutoModel,
        AutoModelForMaskedLM,
        AutoModelForCausalLM,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoModelForQuestionAnswering,
        AutoModelForMultipleChoice,
        AutoModelForImageClassification,
        AutoModelForCTC,
        AutoModelForAudioClassification,
        AutoModelForAudioFrameClassification,
        AutoModelForAudioXVector,
        AutoModelForPreTraining,
        AutoModelForNextSentencePrediction,
        AutoModelForMaskedImageModeling,
        AutoBackbone,
    )
}
if tuple(AUTO_MODEL_CLASSES) != MODEL_TASKS:  # the manifests' task keys are exactly these classes
    raise RegistrationError(f"Auto model classes {list(AUTO_MODEL_CLASSES)} differ from MODEL_TASKS {list(MODEL_TASKS)}.")
