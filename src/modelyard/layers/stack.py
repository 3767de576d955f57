"""The layer stack: running a family's layers in order, written once.

A family's encoder (or decoder) module subclasses :class:`LayerStack` and hands it its layers with the
checkpoint's name for them (``layer`` for BERT and ViT: keys ``encoder.layer.0. ...``; ``layers`` for
Wav2Vec2). Its ``forward`` runs them with what every family needs around the loop: gradient
checkpointing (switched on by ``model.gradient_checkpointing_enable()``, which finds this class's
``gradient_checkpointing`` flag), per-layer head masks, LayerDrop, and the collection of hidden states and
attention probabilities::

    class BertEncoder(LayerStack):
        def __init__(self, config):
            layers = (BertLayer(config) for _ in range(config.num_hidden_layers))
            super().__init__(layers, name="layer", layers_take_head_mask=True)

    encoded = self.encoder(embeddings, additive_mask, head_mask=head_mask, output_attentions=False,
                           output_hidden_states=False)  # a BaseModelOutput

A stack that does more around its layers says so in hooks its ``forward`` calls: :meth:`~LayerStack.before_layers`
(a positional convolution first; it also gives the arguments every layer gets), :meth:`~LayerStack.layerdrop_rate`
and :meth:`~LayerStack.final_norm` (a norm last). One whose layers take other inputs (a decoder's cache) overrides
``forward`` and calls :meth:`LayerStack.run_layers` with its layers.

The layer contract: ``layer(hidden_states, *args, [head_mask,] output_attentions)`` returns
``(hidden_states, attention probabilities or None)``; ``args`` are the same for every layer (an additive
mask, rotary cos/sin, a cache object); in a stack built with ``layers_take_head_mask=True`` each layer also
gets its own head-mask slice (None when no mask is given). Arguments are positional because torch's
reentrant checkpointing takes no keywords. A decoder layer that also attends over an encoder's states
returns ``(hidden_states, self-attention probabilities, cross-attention probabilities)``; ``run_layers(...,
output_cross_attentions=True)`` collects the third too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn

from modelyard.layers.attention import expand_head_mask
from modelyard.outputs import BaseModelOutput, BaseModelOutputWithPastAndCrossAttentions


class LayerStack(nn.Module):
    """Base of a module that runs layers in sequence (see the module docstring for the layer contract)."""

    # set with gradient_checkpointing by PreTrainedModel.gradient_checkpointing_enable()
    _gradient_checkpointing_func: Callable[..., Any]

    def __init__(
        self, layers: Iterable[nn.Module] | None = None, *, name: str = "layers", layers_take_head_mask: bool = False
    ) -> None:
        """``layers`` become the ``nn.ModuleList`` attribute ``name`` (the checkpoint's key for them); a stack
        that overrides ``forward`` may build its layers itself and pass none. ``layers_take_head_mask``: each
        layer takes a head mask (None or its (1, heads, 1, 1) slice) just before ``output_attentions``."""
        super().__init__()
        self.gradient_checkpointing = False  # set by PreTrainedModel.gradient_checkpointing_enable()
        self.layers_take_head_mask = layers_take_head_mask
        self._layers_name = name
        if layers is not None:
            setattr(self, name, nn.ModuleList(layers))

    def forward(
        self,
        hidden_states: torch.Tensor,
        *args: Any,
        head_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BaseModelOutput:
        """Run the stack's layers (see :meth:`run_layers`) on what :meth:`before_layers` makes of the input."""
        hidden_states, args = self.before_layers(hidden_states, *args)
        return self.run_layers(
            getattr(self, self._layers_name), hidden_states, *args, head_mask=head_mask,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states,
            layerdrop=self.layerdrop_rate(), final_norm=self.final_norm(),
        )

    def before_layers(self, hidden_states: torch.Tensor, *args: Any) -> tuple[torch.Tensor, tuple[Any, ...]]:
        """The layers' input and the arguments every layer gets, from the stack's input and ``args``: as they are,
        unless the stack does something first."""
        return hidden_states, args

    def layerdrop_rate(self) -> float:
        """The probability of skipping each layer while training (LayerDrop): none unless the stack says."""
        return 0.0

    def final_norm(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """What runs on the last layer's output (a pre-norm stack's closing norm): nothing unless the stack says."""
        return None

    def call_layer(self, layer: nn.Module, *args: Any) -> Any:
        """``layer(*args)``, recomputed in the backward pass when gradient checkpointing is on and training."""
        if self.gradient_checkpointing and self.training:
            return self._gradient_checkpointing_func(layer.__call__, *args)
        return layer(*args)

    def run_layers(
        self,
        layers: Sequence[nn.Module] | nn.ModuleList,
        hidden_states: torch.Tensor,
        *args: Any,
        head_mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        layerdrop: float = 0.0,
        final_norm: Callable[[torch.Tensor], torch.Tensor] | None = None,
        output_cross_attentions: bool = False,
    ) -> Any:
        """Run ``layers`` over ``hidden_states``; the output holds the last hidden states and, when asked, every
        layer's input plus the final output (``hidden_states``) and every layer's probabilities (``attentions``).

        ``head_mask``: None, (heads,) or (layers, heads) 1/0 values, cast to the hidden states' dtype and handed
        to each layer as its own (1, heads, 1, 1) slice; only for stacks built with ``layers_take_head_mask``.
        ``layerdrop``: while training, each layer is skipped with this probability (its attentions are None).
        ``final_norm``: applied to the last layer's output, which is then the last of ``hidden_states`` (the
        pre-norm encoders and decoders whose stack ends with a norm; any module or function of the hidden states).
        ``output_cross_attentions``: the layers return cross-attention probabilities third, collected as the
        output's ``cross_attentions`` (a ``BaseModelOutputWithPastAndCrossAttentions``).
        """
        head_masks = None
        if self.layers_take_head_mask:
            if head_mask is not None:
                head_mask = head_mask.to(hidden_states.dtype)
            head_masks = expand_head_mask(head_mask, len(layers))
        elif head_mask is not None:
            raise ValueError(f"{type(self).__name__}'s layers take no head mask; pass head_mask=None.")
        all_hidden: tuple[torch.Tensor, ...] | None = () if output_hidden_states else None
        all_attentions: tuple[torch.Tensor | None, ...] | None = () if output_attentions else None
        all_cross: tuple[torch.Tensor | None, ...] | None = () if output_attentions and output_cross_attentions else None
        dropping = self.training and layerdrop > 0
        for index, layer in enumerate(layers):
            if all_hidden is not None:
                all_hidden += (hidden_states,)
            probs = cross_probs = None
            # LayerDrop: skip whole layers at random while training (one draw per layer, in order)
            if not (dropping and torch.rand(()).item() < layerdrop):
                layer_args = args if head_masks is None else (*args, head_masks[index])
                hidden_states, probs, *cross = self.call_layer(layer, hidden_states, *layer_args, output_attentions)
                cross_probs = cross[0] if cross else None
            if all_attentions is not None:
                all_attentions += (probs,)
            if all_cross is not None:
                all_cross += (cross_probs,)
        if final_norm is not None:
            hidden_states = final_norm(hidden_states)
        if all_hidden is not None:
            all_hidden += (hidden_states,)
        if output_cross_attentions:
            return BaseModelOutputWithPastAndCrossAttentions(
                last_hidden_state=hidden_states,
                hidden_states=all_hidden,
                attentions=all_attentions,  # type: ignore[arg-type]  # a tuple of tensors (None entries only for layers that give none)
                cross_attentions=all_cross,  # type: ignore[arg-type]  # a tuple of tensors (None entries only for layers that give none)
            )
        return BaseModelOutput(
            last_hidden_state=hidden_states,
            hidden_states=all_hidden,
            attentions=all_attentions,  # type: ignore[arg-type]  # a tuple of tensors (None entries only for layers that give none)
        )


__all__ = ["LayerStack"]
