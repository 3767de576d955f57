"""``automatic-speech-recognition`` with CTC models: text (and character or word timestamps) for audio.

Long audio is cut into windows of ``chunk_length_s`` seconds that overlap by ``stride_length_s`` (default a
sixth of a window) on each side; each window's predictions inside its overlaps are dropped before the windows
are joined, so words cut at a window's edge come from the neighbour that sees them whole. Windows are batched
like any other input (``batch_size``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelyard.errors import PipelineError
from modelyard.pipelines.base import Params, Piece, Pipeline
from modelyard.pipelines.inputs import load_audio


def rescale_stride(stride: tuple[int, int, int], ratio: float) -> tuple[int, int, int]:
    """A (length, left, right) stride from audio samples to logit frames."""
    total, left, right = stride
    frames = int(round(total * ratio))
    return frames, int(round(left / total * frames)), int(round(right / total * frames))


class AutomaticSpeechRecognitionPipeline(Pipeline):
    """``pipe(samples)`` -> ``{"text": ...}``; with ``return_timestamps="char"`` or ``"word"``, also
    ``"chunks": [{"text", "timestamp": (start_s, end_s)}, ...]``."""

    task = "automatic-speech-recognition"

    def _sanitize(self, *, chunk_length_s: float | None = None, stride_length_s: Any = None,
                  return_timestamps: str | None = None, ignore_warning: bool | None = None,
                  ) -> tuple[Params, Params, Params]:
        pre: Params = {}
        post: Params = {}
        if chunk_length_s is not None:
            pre["chunk_length_s"] = chunk_length_s
        if stride_length_s is not None:
            pre["stride_length_s"] = stride_length_s
        if return_timestamps is not None:
            if return_timestamps not in ("char", "word"):
                raise PipelineError(
                    f"CTC models give character or word timestamps: pass return_timestamps='char' or 'word' "
                    f"(got {return_timestamps!r})."
                )
            post["return_timestamps"] = return_timestamps
        return pre, {}, post

    def preprocess(self, audio: Any, *, chunk_length_s: float = 0, stride_length_s: Any = None) -> list[Piece]:
        extractor = self.feature_extractor
        rate = extractor.sampling_rate
        samples = load_audio(audio, rate)
        if not chunk_length_s:
            processed = extractor(samples, sampling_rate=rate, return_tensors="pt", return_attention_mask=True)
            return [Piece({key: value[0] for key, value in processed.items()})]
        if stride_length_s is None:
            stride_length_s = chunk_length_s / 6
        if isinstance(stride_length_s, (int, float)):
            stride_length_s = [stride_length_s, stride_length_s]
        align = getattr(self.model.config, "inputs_to_logits_ratio", 1)
        chunk = int(round(chunk_length_s * rate / align) * align)
        left = int(round(stride_length_s[0] * rate / align) * align)
        right = int(round(stride_length_s[1] * rate / align) * align)
        if chunk < left + right:
            raise PipelineError(
                f"chunk_length_s ({chunk_length_s}) must be longer than both strides together ({stride_length_s}); "
                "lower stride_length_s or raise chunk_length_s."
            )
        step = chunk - left - right
        pieces = []
        for begin in range(0, samples.shape[0], step):
            window = samples[begin:begin + chunk]
            is_last = begin + chunk >= samples.shape[0]
            stride = (window.shape[0], 0 if begin == 0 else left, 0 if is_last else right)
            if window.shape[0] > stride[1]:
                processed = extractor(window, sampling_rate=rate, return_tensors="pt", return_attention_mask=True)
                pieces.append(Piece({key: value[0] for key, value in processed.items()}, {"stride": stride}))
            if is_last:
                break
        return pieces

    def _forward(self, batch: dict[str, Any], **params: Any) -> dict[str, Any]:
        name = getattr(self.model, "main_input_name", "input_values")
        logits = self.model(**{name: batch[name], "attention_mask": batch.get("attention_mask")}).logits
        return {"tokens": logits.argmax(dim=-1)}

    def postprocess(self, outputs: list[dict[str, Any]], *, return_timestamps: str | None = None) -> dict[str, Any]:
        ratio = self.model.config.inputs_to_logits_ratio
        pieces = []
        name = getattr(self.model, "main_input_name", "input_values")
        for out in outputs:
            # frames past this input's own length are padding of a batch (the reference reads one of them
            # into a short last window when batched; each window keeps its own frames here)
            tokens = out["tokens"].numpy()[:, : self._frames(len(out["model_inputs"][name]))]
            if "stride" in out:  # drop the frames of the overlaps
                total, left, right = rescale_stride(out["stride"], 1 / ratio)
                tokens = tokens[:, left:total - right]
            pieces.append(tokens)
        ids = np.concatenate(pieces, axis=1).squeeze(0)
        text = self.tokenizer.decode(ids, skip_special_tokens=False)
        if not return_timestamps:
            return {"text": text}
        offsets = self.tokenizer.decode(ids, skip_special_tokens=False, output_char_offsets=True)["char_offsets"]
        if return_timestamps == "word":
            offsets = self.tokenizer._get_word_offsets(offsets, self.tokenizer.replace_word_delimiter_char)
        rate = self.feature_extractor.sampling_rate
        chunks = [{"text": item[return_timestamps],
                   "timestamp": (item["start_offset"] * ratio / rate, item["end_offset"] * ratio / rate)}
                  for item in offsets]
        return {"text": text, "chunks": chunks}

    def _frames(self, samples: int) -> int:
        """Logit frames the model makes from ``samples`` audio samples (its convolution stack's lengths)."""
        lengths = getattr(self.model, "_get_feat_extract_output_lengths", None)
        if lengths is None:
            return int(samples // self.model.config.inputs_to_logits_ratio)
        import torch

        return int(lengths(torch.tensor(samples)))
