"""What a forward returns: its output object, or that object's tuple when the caller asked for tuples, and
which optional outputs (attention probabilities, every layer's hidden states) it collects.

Every model's ``forward`` ends with ``return finish_output(output, return_dict, self.config)``: an explicit
``return_dict`` wins, ``None`` defers to ``config.use_return_dict``.
"""

from __future__ import annotations

from typing import Any

from modelyard.configuration import PretrainedConfig
from modelyard.outputs import ModelOutput


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


def finish_output(output: ModelOutput, return_dict: bool | None, config: PretrainedConfig) -> Any:
    """``output``, or its tuple (fields that are None left out) when :func:`wants_dict` says tuples."""
    return output if wants_dict(return_dict, config) else output.to_tuple()


__all__ = ["finish_output", "output_options", "wants_dict"]
