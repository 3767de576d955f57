"""``transformers.modeling_outputs``: modelyard's output classes (:mod:`modelyard.outputs`), which include the
reference's other common ones (outputs with cross attentions, sequence-to-sequence).

Field names and order are the reference's (``outputs[0]``, ``to_tuple()`` and unpacking depend on them).
"""

from __future__ import annotations

from modelyard import outputs as _outputs
from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(
    globals(),
    {
        name: _outputs.__name__
        for name, value in vars(_outputs).items()
        if isinstance(value, type) and issubclass(value, _outputs.ModelOutput) and not name.startswith("_")
    },
)
