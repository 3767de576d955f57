"""``transformers.dynamic_module_utils``: loading custom code, and ``TIME_OUT_REMOTE_CODE``, the seconds the consent
question waits for an answer at a terminal.

Setting ``TIME_OUT_REMOTE_CODE`` (``0``: never ask, custom code without consent is refused) sets modelyard's own
prompt time-out (:func:`modelyard.dynamic_modules.trust.set_prompt_timeout`), as code written for the reference
expects; reading it gives the time-out in force.
"""

from __future__ import annotations

import sys
from types import ModuleType

from modelyard.compat.transformers._namespace import declare
from modelyard.dynamic_modules import trust

__getattr__, __dir__ = declare(
    globals(),
    {"get_class_from_dynamic_module": "modelyard.dynamic_modules"},
    constants=("TIME_OUT_REMOTE_CODE",),
)


class _DynamicModuleUtils(ModuleType):
    @property
    def TIME_OUT_REMOTE_CODE(self) -> float:  # noqa: N802 - the reference's name
        return trust.prompt_timeout()

    @TIME_OUT_REMOTE_CODE.setter
    def TIME_OUT_REMOTE_CODE(self, seconds: float | None) -> None:  # noqa: N802
        trust.set_prompt_timeout(seconds)


sys.modules[__name__].__class__ = _DynamicModuleUtils
