"""The names a ``**kwargs: Unpack[SomeTypedDict]`` group declares, as code that reads signatures at run time sees
them (processors routing keywords to their parts, the Trainer keeping a forward's dataset columns)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from modelyard.keyword_groups import Unpack, group_keywords

if TYPE_CHECKING:
    from modelyard.layers.returns import OutputSwitches as OnlyForTypeCheckers


class _Padding(TypedDict, total=False):
    padding: bool
    max_length: int | None


def _grouped(values: Any, **options: Unpack[_Padding]) -> None: ...


def _plain(values: Any, **kwargs: Any) -> None: ...


def _unresolvable(values: Any, **kwargs: Unpack[OnlyForTypeCheckers]) -> None: ...


def test_a_group_gives_the_names_its_typed_dict_declares_in_order() -> None:
    assert group_keywords(_grouped, "options") == ("padding", "max_length")


def test_plain_or_unresolvable_keywords_give_no_group() -> None:
    assert group_keywords(_plain, "kwargs") is None
    assert group_keywords(_unresolvable, "kwargs") is None  # a name imported only for type checkers
    assert group_keywords(_grouped, "no_such_parameter") is None


def test_the_model_output_switches_are_read_from_a_forward() -> None:
    from modelyard import BertConfig, BertModel

    model = BertModel(BertConfig(vocab_size=32, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=16, max_position_embeddings=16))
    assert group_keywords(model.forward, "kwargs") == ("output_attentions", "output_hidden_states", "return_dict")
