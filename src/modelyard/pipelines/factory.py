"""``pipeline()``: a task, a model and its preprocessors in one call, loaded the way the Auto classes load."""

from __future__ import annotations

import importlib
import os
from typing import Any

from modelyard.errors import PipelineError
from modelyard.pipelines.base import Pipeline
from modelyard.pipelines.tasks import TaskSpec, fitting_tasks, infer_task, resolve_task

_PREPROCESSOR_AUTO = {
    "tokenizer": "AutoTokenizer",
    "feature_extractor": "AutoFeatureExtractor",
    "image_processor": "AutoImageProcessor",
}


def pipeline(
    task: str | None = None,
    model: Any = None,
    *,
    config: Any = None,
    tokenizer: Any = None,
    feature_extractor: Any = None,
    image_processor: Any = None,
    processor: Any = None,
    revision: str | None = None,
    use_fast: bool = True,
    token: str | bool | None = None,
    device: int | str | Any = None,
    dtype: str | Any = None,
    torch_dtype: str | Any = None,
    trust_remote_code: bool | None = None,
    model_kwargs: dict[str, Any] | None = None,
    batch_size: int | None = None,
    **options: Any,
) -> Pipeline:
    """Build the pipeline of ``task`` around ``model``.

    ``model`` is a hub id or a local folder (loaded with the Auto class of the head the task needs, at
    ``revision``, with ``dtype``; a repository's own code runs only with ``trust_remote_code=True`` or a
    trusted publisher), or a model object. ``tokenizer`` / ``feature_extractor`` / ``image_processor`` /
    ``processor`` are objects or ids; missing ones are loaded from the model's location. Without ``task``,
    the model's card (``pipeline_tag``) or config (``architectures``) names it. ``device`` (-1/"cpu", 0,
    "cuda:0", a ``torch.device``) and ``batch_size`` apply to every call; other keywords are the task's own
    options (``top_k=``, ``aggregation_strategy=``, ...), defaults for every call.

    Example::

        classify = pipeline("text-classification", model="acme/bert-sentiment")
        classify("What a lovely day")          # [{"label": "POSITIVE", "score": 0.98}]
    """
    if task is None and model is None:
        raise PipelineError(
            "pipeline() needs a task, a model, or both: e.g. pipeline('text-classification', model='acme/bert-sst2')."
        )
    if torch_dtype is not None:
        if dtype is not None:
            raise PipelineError("Pass dtype= only (torch_dtype= is its old name); both were given.")
        dtype = torch_dtype
    hub = {key: value for key, value in (("revision", revision), ("token", token)) if value is not None}
    spec = resolve_task(task) if task is not None else None
    location = model if isinstance(model, (str, os.PathLike)) else None
    if processor is not None:
        tokenizer, feature_extractor, image_processor = _unpack_processor(
            processor, tokenizer, feature_extractor, image_processor)

    if location is not None:
        config = _load_config(location, config, hub, trust_remote_code)
        if spec is None:
            spec = resolve_task(infer_task(config, source=_source(location, hub), where=f"model {str(location)!r}"))
        _check_fit(spec, config, where=f"model {str(location)!r}")
        model = _load_model(spec, location, config, hub, trust_remote_code, dtype, dict(model_kwargs or {}))
    elif model is not None:
        if spec is None:
            spec = resolve_task(infer_task(model.config, source=None, where=f"the given {type(model).__name__}"))
        _check_model_object(spec, model)
        location = getattr(model, "name_or_path", None) or getattr(model.config, "name_or_path", None) or None
    else:
        raise PipelineError(
            f"pipeline({task!r}) needs model=...: modelyard names no default model for a task (nothing is "
            "downloaded behind your back). Pass a hub id, a local folder or a model object."
        )
    assert spec is not None  # resolved above: from the task name or from the model

    loaded = {"tokenizer": tokenizer, "feature_extractor": feature_extractor, "image_processor": image_processor}
    for kind in spec.preprocessors:
        loaded[kind] = _preprocessor(kind, loaded[kind], location, spec, hub, trust_remote_code, use_fast)
    for kind, value in loaded.items():  # ids given for a kind the task does not need still load
        if isinstance(value, (str, os.PathLike)):
            loaded[kind] = _preprocessor(kind, value, location, spec, hub, trust_remote_code, use_fast)

    module = importlib.import_module(f"modelyard.pipelines.{spec.module}")
    pipeline_class = getattr(module, spec.class_name)
    return pipeline_class(model, processor=processor, device=device, dtype=dtype if location is None else None,
                          batch_size=batch_size, **loaded, **options)


def _source(location: Any, hub: dict[str, Any]) -> Any:
    from modelyard.options import HubOptions

    try:
        return HubOptions(**hub).open(location)
    except Exception:  # the card is a hint only; the model load reports a missing repository
        return None


def _load_config(location: Any, config: Any, hub: dict[str, Any], trust_remote_code: bool | None) -> Any:
    from modelyard.auto import AutoConfig

    if config is None:
        return AutoConfig.from_pretrained(location, trust_remote_code=trust_remote_code, **hub)
    if isinstance(config, (str, os.PathLike)):
        return AutoConfig.from_pretrained(config, trust_remote_code=trust_remote_code, **hub)
    return config


def _check_fit(spec: TaskSpec, config: Any, *, where: str) -> None:
    """The model's family must have the head the task needs; a checkpoint saved with another task's head
    (``architectures``) is refused rather than loaded with a random head."""
    fitting = fitting_tasks(config)
    if spec.name == "zero-shot-classification" and "zero-shot-classification" not in fitting:
        from modelyard.pipelines.zero_shot_classification import entailment_id

        entailment_id(config)  # raises, naming the labels the model has
    if spec.name not in fitting:
        raise PipelineError(
            f"{where} (model type {getattr(config, 'model_type', None)!r}) cannot serve {spec.name!r}: the task needs "
            f"{spec.head}, which this model type does not provide. Tasks it fits: "
            f"{', '.join(fitting) if fitting else 'none'}."
        )
    architectures = getattr(config, "architectures", None) or []
    if architectures and spec.auto_class != "AutoModel":
        heads = {name for architecture in architectures for name in fitting_tasks(config, architecture=architecture)}
        base = any(fitting_tasks(config, architecture=a) == [] or _is_base(config, a) for a in architectures)
        if spec.name not in heads and not base and heads:
            raise PipelineError(
                f"{where} was saved as {architectures[0]} (a head for {', '.join(sorted(heads))}), not with "
                f"{spec.head} that {spec.name!r} needs; its head weights would be random. Use a checkpoint "
                f"fine-tuned for {spec.name}, or pipeline({sorted(heads)[0]!r}, model=...)."
            )


def _is_base(config: Any, architecture: str) -> bool:
    from modelyard.auto.modeling_auto import AutoModel

    base = AutoModel._table.get(type(config))
    return base is not None and base.__name__ == architecture


def _load_model(spec: TaskSpec, location: Any, config: Any, hub: dict[str, Any], trust_remote_code: bool | None,
                dtype: Any, model_kwargs: dict[str, Any]) -> Any:
    from modelyard.auto.modeling_auto import AUTO_MODEL_CLASSES

    auto = AUTO_MODEL_CLASSES[spec.auto_class]
    if dtype is not None:
        model_kwargs["dtype"] = dtype
    return auto.from_pretrained(location, config=config, trust_remote_code=trust_remote_code, **hub, **model_kwargs)


def _check_model_object(spec: TaskSpec, model: Any) -> None:
    config = getattr(model, "config", None)
    if config is None or not callable(model):
        raise PipelineError(
            f"model must be a hub id, a local folder or a modelyard model; got {type(model).__name__}."
        )
    if spec.auto_class == "AutoModel":
        return  # any model's first output is its hidden states
    from modelyard.auto.modeling_auto import AUTO_MODEL_CLASSES

    expected = AUTO_MODEL_CLASSES[spec.auto_class]._table.get(type(config))
    if expected is not None and isinstance(model, expected):
        return
    auto_map = getattr(config, "auto_map", None) or {}
    reference = auto_map.get(spec.auto_class)
    if reference is not None and str(reference[-1] if isinstance(reference, (list, tuple)) else reference
                                     ).rsplit(".", 1)[-1] == type(model).__name__:
        return
    hint = f" ({expected.__name__} for {type(config).__name__})" if expected is not None else ""
    raise PipelineError(
        f"{type(model).__name__} cannot serve {spec.name!r}: the task needs {spec.head}{hint}. Load the model with "
        f"{spec.auto_class}.from_pretrained(...), or use the task that fits its head."
    )


def _unpack_processor(processor: Any, tokenizer: Any, feature_extractor: Any, image_processor: Any
                      ) -> tuple[Any, Any, Any]:
    if isinstance(processor, (str, os.PathLike)):
        from modelyard.auto import AutoProcessor

        processor = AutoProcessor.from_pretrained(processor)
    tokenizer = tokenizer if tokenizer is not None else getattr(processor, "tokenizer", None)
    feature_extractor = feature_extractor if feature_extractor is not None \
        else getattr(processor, "feature_extractor", None)
    image_processor = image_processor if image_processor is not None else getattr(processor, "image_processor", None)
    return tokenizer, feature_extractor, image_processor


def _preprocessor(kind: str, given: Any, location: Any, spec: TaskSpec, hub: dict[str, Any],
                  trust_remote_code: bool | None, use_fast: bool) -> Any:
    """The object given, or the one saved with ``given`` (an id) or with the model."""
    if given is not None and not isinstance(given, (str, os.PathLike)):
        return given
    where = given if given is not None else location
    if where is None:
        raise PipelineError(
            f"{spec.name!r} needs a {kind.replace('_', ' ')}, and the model object does not say where it was loaded "
            f"from; pass {kind}=... (an object or an id)."
        )
    import modelyard.auto as auto

    extra: dict[str, Any] = {"use_fast": use_fast} if kind == "tokenizer" else {}
    try:
        return getattr(auto, _PREPROCESSOR_AUTO[kind]).from_pretrained(
            where, trust_remote_code=trust_remote_code, **hub, **extra)
    except (OSError, ValueError) as err:
        if kind == "image_processor":  # older checkpoints save a feature extractor for images
            try:
                return auto.AutoFeatureExtractor.from_pretrained(where, trust_remote_code=trust_remote_code, **hub)
            except (OSError, ValueError):
                pass
        raise PipelineError(
            f"{spec.name!r} needs a {kind.replace('_', ' ')}, and none could be loaded from {str(where)!r} ({err}). "
            f"Pass {kind}=... (an object or an id)."
        ) from err
