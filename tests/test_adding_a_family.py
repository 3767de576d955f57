"""Adding a model family touches its own folder only (docs/adding-a-model.md): a folder with a manifest is
found by the registry, and the Auto classes and ``modelyard``'s public names serve it, with nothing else edited."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

FAMILY = {
    "__init__.py": '''
        from modelyard.registry import FamilyManifest

        MANIFEST = FamilyManifest(
            model_type="toy",
            config="ToyConfig",
            modeling=("ToyModel", "ToyForSequenceClassification"),
        )
        __getattr__, __dir__, __all__ = MANIFEST.lazy_exports(__name__, globals())
    ''',
    "configuration_toy.py": '''
        from modelyard import PretrainedConfig

        class ToyConfig(PretrainedConfig):
            model_type = "toy"

            def __init__(self, width=4, **kwargs):
                self.width = width
                super().__init__(**kwargs)
    ''',
    "modeling_toy.py": '''
        from torch import nn

        from modelyard import PreTrainedModel
        from modelyard.outputs import BaseModelOutput, SequenceClassifierOutput

        from .configuration_toy import ToyConfig

        class ToyPreTrainedModel(PreTrainedModel):
            config_class = ToyConfig
            base_model_prefix = "toy"

        class ToyModel(ToyPreTrainedModel):
            def __init__(self, config):
                super().__init__(config)
                self.dense = nn.Linear(config.width, config.width)
                self.post_init()

            def forward(self, x):
                return BaseModelOutput(last_hidden_state=self.dense(x))

        class ToyForSequenceClassification(ToyPreTrainedModel):
            def __init__(self, config):
                super().__init__(config)
                self.toy = ToyModel(config)
                self.classifier = nn.Linear(config.width, config.num_labels)
                self.post_init()

            def forward(self, x):
                return SequenceClassifierOutput(logits=self.classifier(self.toy(x).last_hidden_state))
    ''',
}

CHECK = '''
import sys
import modelyard.models
modelyard.models.__path__.append(sys.argv[1])  # the new family's folder sits beside the built-in ones
import torch
import modelyard
from modelyard import AutoConfig, AutoModel, AutoModelForSequenceClassification

config = AutoConfig.for_model("toy", width=3)
assert type(config).__name__ == "ToyConfig", type(config)
model = AutoModel.from_config(config)
assert type(model) is modelyard.ToyModel
model.save_pretrained(sys.argv[2])
head = AutoModelForSequenceClassification.from_pretrained(sys.argv[2])
assert type(head).__name__ == "ToyForSequenceClassification"
assert "ToyModel" in modelyard.__all__ and "ToyConfig" in dir(modelyard)
assert head(torch.ones(1, 3)).logits.shape == (1, 2)
print("ok")
'''


def test_a_new_family_folder_is_served_by_the_auto_classes_and_the_package(tmp_path: Path) -> None:
    folder = tmp_path / "families" / "toy"
    folder.mkdir(parents=True)
    for name, text in FAMILY.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    result = subprocess.run([sys.executable, "-c", CHECK, str(tmp_path / "families"), str(tmp_path / "saved")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
