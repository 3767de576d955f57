"""The task table: each task's pipeline class, the Auto class of the head it needs, what it preprocesses with.

Also the two questions ``pipeline()`` asks before loading anything: which task a name means (aliases, near
misses) and which task a model serves when none is named (its card's ``pipeline_tag``, else its config's
``architectures`` looked up in the Auto tables).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelyard.errors import PipelineError
from modelyard.options import near_miss

if TYPE_CHECKING:
    from modelyard.configuration import PretrainedConfig
    from modelyard.hub.files import FileSource


@dataclass(frozen=True)
class TaskSpec:
    """One task: ``pipeline(name)`` builds ``module.class_name`` around a model of ``auto_class``.

    The module and class are named after the task (``"fill-mask"``: ``modelyard.pipelines.fill_mask``,
    ``FillMaskPipeline``), as in the reference.
    """

    name: str
    auto_class: str  # the Auto class whose table holds the head this task needs
    head_description: str  # the head in words, without the Auto class
    preprocessors: tuple[str, ...]  # "tokenizer", "feature_extractor", "image_processor" (all loaded)
    modality: str  # "text", "image" or "audio"

    @property
    def module(self) -> str:
        """The module under ``modelyard.pipelines``."""
        return self.name.replace("-", "_")

    @property
    def class_name(self) -> str:
        return "".join(word.capitalize() for word in self.name.split("-")) + "Pipeline"

    @property
    def head(self) -> str:
        """The head in words, for errors."""
        return f"{self.head_description} ({self.auto_class})"


_TEXT, _IMAGE, _AUDIO = ("tokenizer",), ("image_processor",), ("feature_extractor",)

TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("feature-extraction", "AutoModel", "a base model", _TEXT, "text"),
        TaskSpec("fill-mask", "AutoModelForMaskedLM", "a masked-language-modeling head", _TEXT, "text"),
        TaskSpec("text-classification", "AutoModelForSequenceClassification", "a sequence-classification head",
                 _TEXT, "text"),
        TaskSpec("token-classification", "AutoModelForTokenClassification", "a token-classification head",
                 _TEXT, "text"),
        TaskSpec("question-answering", "AutoModelForQuestionAnswering", "an extractive question-answering head",
                 _TEXT, "text"),
        TaskSpec("zero-shot-classification", "AutoModelForSequenceClassification",
                 "a sequence-classification head trained for NLI, with an 'entailment' label", _TEXT, "text"),
        TaskSpec("text-generation", "AutoModelForCausalLM", "a causal language-model head", _TEXT, "text"),
        TaskSpec("image-classification", "AutoModelForImageClassification", "an image-classification head",
                 _IMAGE, "image"),
        TaskSpec("image-feature-extraction", "AutoModel", "a base vision model", _IMAGE, "image"),
        TaskSpec("audio-classification", "AutoModelForAudioClassification", "an audio-classification head",
                 _AUDIO, "audio"),
        TaskSpec("automatic-speech-recognition", "AutoModelForCTC", "a CTC head", (*_AUDIO, *_TEXT), "audio"),
    )
}  # fmt: skip

ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}

# Tasks the reference knows that modelyard's heads cannot serve yet: named in the error instead of a near miss.
NOT_YET = {
    "text2text-generation": "it needs an encoder-decoder model with generate(), which modelyard does not ship",
    "summarization": "it needs an encoder-decoder model with generate(), which modelyard does not ship",
    "translation": "it needs an encoder-decoder model with generate(), which modelyard does not ship",
}

# When several tasks fit one head, the first listed is the one inferred (zero-shot needs to be asked for).
_INFERENCE_ORDER = (
    "text-classification", "token-classification", "question-answering", "fill-mask", "text-generation",
    "image-classification",
    "audio-classification", "automatic-speech-recognition", "feature-extraction", "image-feature-extraction",
)


def task_names() -> list[str]:
    return sorted([*TASKS, *ALIASES])


def resolve_task(task: str) -> TaskSpec:
    """The spec for ``task`` (an alias included); an unknown name raises naming the closest one."""
    if not isinstance(task, str):
        raise PipelineError(f"task must be a task name such as 'text-classification', got {type(task).__name__}.")
    name = ALIASES.get(task, task)
    translation = re.fullmatch(r"translation_\w+_to_\w+", name)
    if name in TASKS:
        return TASKS[name]
    if name in NOT_YET or translation:
        why = NOT_YET["translation" if translation else name]
        raise PipelineError(f"Task {task!r} is not available in modelyard: {why}. Tasks: {', '.join(task_names())}.")
    guess = near_miss(task, [*TASKS, *ALIASES])
    hint = f" Did you mean {guess!r}?" if guess else ""
    raise PipelineError(f"Unknown task {task!r}.{hint} Tasks: {', '.join(task_names())}.")


def _modality(config: Any) -> str | None:
    """What a model reads, from its family's manifest (its preprocessors) or, failing that, its config."""
    from modelyard.registry import families

    entry = families().get(getattr(config, "model_type", None) or "")
    manifest = entry[1] if entry is not None else None
    if (manifest is not None and manifest.image_processor) or hasattr(config, "num_channels"):
        return "image"
    if manifest is not None and manifest.feature_extractor:
        return "audio"
    if manifest is not None and (manifest.tokenizer or manifest.fast_tokenizer):
        return "text"
    return "text" if hasattr(config, "vocab_size") else None


def fitting_tasks(config: PretrainedConfig, *, architecture: str | None = None) -> list[str]:
    """The tasks whose head the model's family (or its custom code's ``auto_map``) provides; with
    ``architecture``, only those whose head is that very class."""
    from modelyard.auto.modeling_auto import AUTO_MODEL_CLASSES

    auto_map = getattr(config, "auto_map", None) or {}
    modality = _modality(config)
    found = []
    for name in _INFERENCE_ORDER + ("zero-shot-classification",):
        spec = TASKS[name]
        if spec.auto_class == "AutoModel" and modality is not None and spec.modality != modality:
            continue
        if name == "zero-shot-classification" and not _has_entailment_label(config):
            continue
        model_class = AUTO_MODEL_CLASSES[spec.auto_class]._table.get(type(config))
        if model_class is not None:
            if architecture is None or model_class.__name__ == architecture:
                found.append(name)
        elif spec.auto_class in auto_map:
            reference = auto_map[spec.auto_class]
            reference = reference[-1] if isinstance(reference, (list, tuple)) else reference
            if architecture is None or str(reference).rsplit(".", 1)[-1] == architecture:
                found.append(name)
    return found


def _has_entailment_label(config: Any) -> bool:
    return any(str(label).lower().startswith("entail") for label in (getattr(config, "label2id", None) or {}))


def card_pipeline_tag(source: FileSource) -> str | None:
    """The ``pipeline_tag`` of the model card's YAML front matter (README.md), if the repository has one."""
    try:
        path = source.get("README.md", required=False)
    except Exception:  # a card is optional: an unreachable one means no tag, never a failed load
        return None
    if path is None:
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    front = re.match(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", text, re.DOTALL)
    if front is None:
        return None
    tag = re.search(r"^pipeline_tag:\s*['\"]?([\w-]+)['\"]?\s*$", front.group(1), re.MULTILINE)
    return tag.group(1) if tag else None


def infer_task(config: PretrainedConfig, *, source: FileSource | None, where: str) -> str:
    """The task a model serves: its card's ``pipeline_tag``, else its first architecture's head."""
    if source is not None:
        tag = card_pipeline_tag(source)
        if tag is not None and ALIASES.get(tag, tag) in TASKS:
            return ALIASES.get(tag, tag)
    architectures = getattr(config, "architectures", None) or []
    for architecture in architectures:
        found = fitting_tasks(config, architecture=architecture)
        if found:
            return found[0]
    fitting = fitting_tasks(config)
    listed = ", ".join(fitting) if fitting else "none of the pipeline tasks"
    named = f"its architectures {architectures}" if architectures else "it lists no architectures"
    raise PipelineError(
        f"Cannot infer the task of {where}: {named} and its card has no pipeline_tag. Its model type "
        f"{getattr(config, 'model_type', None)!r} fits {listed}; pass task=... (e.g. pipeline({fitting[0]!r}, "
        f"model=...))." if fitting else
        f"Cannot infer the task of {where}: {named} and its card has no pipeline_tag, and its model type "
        f"{getattr(config, 'model_type', None)!r} has no head any pipeline task uses. Tasks: "
        f"{', '.join(task_names())}."
    )


# The reference's name for the table (read-only use: names and aliases).
SUPPORTED_TASKS = TASKS
