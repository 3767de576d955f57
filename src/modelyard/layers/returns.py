"""What a forward returns: its output object, or that object's tuple when the caller asked for tuples, and
which optional outputs (attention probabilities, every layer's hidden states) it collects.

Every model's ``forward`` ends with ``return finish_output(output, return_dict, self.config)``: an explicit
``return_dict`` wins, ``None`` defers to ``config.use_return_dict``.

The three switches (``output_attentions``, ``output_hidden_states``, ``return_dict``) are one keyword group,
declared once as :class:`OutputSwitches` and taken as ``**kwargs: Unpack[OutputSwitches]`` after a forward's
inputs, as the reference's 5.x takes them (``Unpack[TransformersKwargs]``): type checkers and IDEs still see each
name and type, and a base model refuses any other keyword at run time (:func:`base_switches`), as Python refuses an
unknown named parameter. A head hands them to its base model with :func:`inner_switches`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from modelyard.configuration import PretrainedConfig
from modelyard.keyword_groups import Unpack
from modelyard.outputs import ModelOutput


class OutputSwitches(TypedDict, total=False):
    """The model output switches every ``forward`` takes by keyword; each unset one defers to the config."""

    output_attentions: bool | None  # every layer's attention probabilities
    output_hidden_states: bool | None  # the embeddings' and every layer's output
    return_dict: bool | None  # the output object (True) or its tuple (False)


SWITCHES = frozenset(OutputSwitches.__annotations__)


def wants_dict(return_dict: bool | None, config: PretrainedConfig) -> bool:
    """Whether a forward should return its output object (``return_dict``, else ``config.use_return_dict``)."""
    return config.use_return_dict if return_dict is None else bool(return_dict)


def output_options(config: PretrainedConfig, output_attentions: bool | None,
                   output_hidden_states: bool | None) -> tuple[bool, bool]:
    """A base model's ``(output_attentions, output_hidden_states)``: each value given, else the config's."""
    return (
        config.output_attentions if output_attentions is None else output_attentions,
        config.output_hidden_states if output_hidden_states is None else output_hidden_states,
    )


def check_switches(model: Any, switches: Mapping[str, Any]) -> None:
    """Refuse a keyword outside the group (a misspelt switch) with a ``TypeError`` naming it, as Python refuses an
    unknown named parameter."""
    unknown = switches.keys() - SWITCHES
    if unknown:
        raise TypeError(
            f"{type(model).__name__}.forward() got unexpected keyword argument(s) {sorted(unknown)}; besides its "
            f"inputs it takes the output switches {sorted(SWITCHES)}."
        )


def base_switches(model: Any, switches: Mapping[str, Any]) -> tuple[bool, bool]:
    """A base model's ``(output_attentions, output_hidden_states)`` from its keyword group, each given, else the
    config's (:func:`check_switches` first)."""
    check_switches(model, switches)
    return output_options(model.config, switches.get("output_attentions"), switches.get("output_hidden_states"))


def inner_switches(switches: Mapping[str, Any]) -> OutputSwitches:
    """The switches a head passes to its base model: attentions and hidden states as asked, ``return_dict=True``
    (the head reads the base model's output object and answers ``return_dict`` itself). Other keywords of the
    head's group (a language model's loss options) stay with the head."""
    return OutputSwitches(
        output_attentions=switches.get("output_attentions"),
        output_hidden_states=switches.get("output_hidden_states"),
        return_dict=True,
    )


def finish_output(output: ModelOutput, return_dict: bool | None, config: PretrainedConfig) -> Any:
    """``output``, or its tuple (fields that are None left out) when :func:`wants_dict` says tuples."""
    return output if wants_dict(return_dict, config) else output.to_tuple()


__all__ = [
    "SWITCHES",
    "OutputSwitches",
    "Unpack",
    "base_switches",
    "check_switches",
    "finish_output",
    "inner_switches",
    "output_options",
    "wants_dict",
]
