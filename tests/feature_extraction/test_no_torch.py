"""Feature extraction imports torch only when asked for torch tensors."""

from __future__ import annotations

import json
from pathlib import Path

from fe_subprocess import run_modelyard

SCRIPT = """
import json, sys
import numpy as np
import modelyard
from modelyard import AutoFeatureExtractor, ViTFeatureExtractor, ViTImageProcessor, Wav2Vec2FeatureExtractor
image = np.zeros((30, 40, 3), np.uint8)
audio = [np.zeros(100, np.float32), np.ones(60, np.float32)]
ViTFeatureExtractor()(image, return_tensors="np")
ViTImageProcessor(size=8)([image, image])
w2v = Wav2Vec2FeatureExtractor(return_attention_mask=True)
w2v(audio, padding=True, return_tensors="np", sampling_rate=16000)
w2v.save_pretrained("saved")
AutoFeatureExtractor.from_pretrained("saved").pad([{"input_values": a} for a in audio])
report = {"before": "torch" in sys.modules}
w2v(audio, padding=True, return_tensors="pt", sampling_rate=16000)
report["after"] = "torch" in sys.modules
print(json.dumps(report))
"""


def test_torch_is_imported_only_for_return_tensors_pt(tmp_path: Path) -> None:
    report = json.loads(run_modelyard(SCRIPT, cwd=tmp_path).strip().splitlines()[-1])
    assert report == {"before": False, "after": True}
