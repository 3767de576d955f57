"""Feature-extractor parity fixtures: deterministic inputs and the reference's outputs.

Writes `<out>/feature_extraction/`:
  inputs.npz    numpy `savez` (no pickles): uint8 HWC images, a 2-D grayscale, an RGBA, a float CHW image in
                [0, 1], float32 mono audio clips.
  expected.npz  numpy `savez_compressed` (no pickles; np.load reads it the same way): `<case>.<field>`.
  cases.json    per case: extractor class, init/call kwargs, which inputs (and as numpy or PIL), the output
                keys, the reference's `to_dict()` (enums as ints), `to_json_string()` (parsed) and printed
                form, the warnings it logged, or the error it raised.
Synthetic images are blocky (flat colour cells, a gradient corner, a noise patch) so the 224x224 outputs of
the default extractor compress well.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    DEFAULT_OUT,
    capture_warnings,
    check_reference,
    fresh_dir,
    jsonable,
    quiet_reference,
    reference_tag,
    write_json,
)

SEED = 1234


def blocky_image(rng: np.random.Generator, height: int, width: int, channels: int, block: int = 5) -> np.ndarray:
    cells = rng.integers(0, 256, (height // block + 1, width // block + 1, channels))
    img = np.kron(cells, np.ones((block, block, 1), dtype=np.int64))[:height, :width].copy()
    yy, xx = np.mgrid[0:height, 0:width]
    h3, w3 = height // 3, width // 3
    img[:h3, :w3] = (xx[:h3, :w3, None] * 255 // width + yy[:h3, :w3, None] * 100 // height) % 256
    img[height // 2 : height // 2 + 6, width // 2 : width // 2 + 6] = rng.integers(0, 256, (6, 6, channels))
    return img.astype(np.uint8)


def make_inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED)
    inputs: dict[str, np.ndarray] = {
        "image_rgb_37x53": blocky_image(rng, 37, 53, 3),
        "image_rgb_64x48": blocky_image(rng, 64, 48, 3),
        "image_gray_45x31": blocky_image(rng, 45, 31, 1)[:, :, 0],
        "image_rgba_33x35": blocky_image(rng, 33, 35, 4),
    }
    chw = blocky_image(rng, 29, 31, 3).astype(np.float32) / 255.0
    inputs["image_float_chw_3x29x31"] = np.ascontiguousarray(chw.transpose(2, 0, 1))
    for name, length, offset, scale in (("audio_400", 400, 0.1, 0.5), ("audio_251", 251, -0.2, 2.0),
                                        ("audio_333", 333, 0.0, 0.05)):
        t = np.arange(length, dtype=np.float64) / 16000.0
        clip = scale * (np.sin(2 * np.pi * 440.0 * t) + 0.3 * rng.standard_normal(length)) + offset
        inputs[name] = clip.astype(np.float32)
    return inputs


IMAGES = ["image_rgb_37x53", "image_rgb_64x48"]
AUDIO = ["audio_400", "audio_251", "audio_333"]


def cases() -> list[dict[str, Any]]:
    import PIL.Image

    box = {"resample": PIL.Image.BOX, "do_normalize": False, "image_mean": [0.3, 0.3, 0.3]}
    size = {"size": {"height": 32, "width": 48}}
    clip_small = {"size": {"shortest_edge": 24}, "crop_size": {"height": 20, "width": 20}}
    c: list[dict[str, Any]] = [
        dict(name="vit_fe_default", cls="ViTFeatureExtractor", init={}, inputs=IMAGES,
             notes="the document's ViTFeatureExtractor(): resize to 224x224 (bilinear), rescale, normalize 0.5/0.5"),
        dict(name="vit_fe_box", cls="ViTFeatureExtractor", init=box, inputs=IMAGES,
             init_repr="resample=PIL.Image.BOX, do_normalize=False, image_mean=[0.3, 0.3, 0.3]",
             notes="the document's second extractor; the reference was given the real PIL enum (PIL.Image.BOX == 4)"),
        dict(name="vit_ip_32x48", cls="ViTImageProcessor", init=size,
             inputs=["image_rgb_37x53", "image_rgb_64x48"], notes="size as a dict; non-square output"),
        dict(name="vit_ip_32x48_pil", cls="ViTImageProcessor", init=size, inputs=["image_rgb_37x53", "image_rgb_64x48"],
             input_format="pil", notes="same as vit_ip_32x48, the images given as PIL RGB images"),
        dict(name="vit_ip_32x48_float_chw_rescaled_twice", cls="ViTImageProcessor", init=size,
             inputs=["image_float_chw_3x29x31"],
             notes="float CHW in [0, 1] with do_rescale left True: the reference rescales by 1/255 again (it "
             "only warns), so the values sit near -1"),
        dict(name="vit_ip_32x48_float_chw", cls="ViTImageProcessor", init=dict(size, do_rescale=False),
             inputs=["image_float_chw_3x29x31"], notes="float CHW in [0, 1] with do_rescale=False"),
        dict(name="vit_ip_32x48_convert_rgb_pil", cls="ViTImageProcessor", init=dict(size, do_convert_rgb=True),
             inputs=["image_gray_45x31", "image_rgba_33x35"], input_format="pil",
             notes="PIL 'L' and 'RGBA' images with do_convert_rgb=True; the reference composites RGBA on a "
             "white background"),
        dict(name="vit_ip_gray_2d_numpy", cls="ViTImageProcessor", init=size, inputs=["image_gray_45x31"],
             notes="2-D numpy grayscale: the reference cannot process it (records its error)"),
        dict(name="vit_ip_rgba_numpy", cls="ViTImageProcessor", init=size, inputs=["image_rgba_33x35"],
             notes="4-channel numpy image: the reference cannot infer the channel axis (records its error)"),
        dict(name="vit_ip_rgba_numpy_channels_last", cls="ViTImageProcessor", init=size, inputs=["image_rgba_33x35"],
             call={"input_data_format": "channels_last", "image_mean": 0.5, "image_std": 0.5},
             notes="4-channel numpy image with its layout given: kept 4 channels, resized as RGBA (premultiplied)"),
        dict(name="clip_ip_small", cls="CLIPImageProcessor", init=clip_small, inputs=IMAGES,
             notes="shortest edge 24 (bicubic), centre crop 20x20, OpenAI CLIP mean/std"),
        dict(name="clip_ip_small_pil_convert", cls="CLIPImageProcessor", init=clip_small,
             inputs=["image_gray_45x31", "image_rgba_33x35"], input_format="pil",
             notes="PIL 'L' and 'RGBA' images: do_convert_rgb=True by default"),
        dict(name="clip_ip_int_sizes", cls="CLIPImageProcessor", init={"size": 30, "crop_size": 28},
             inputs=IMAGES, notes="an int size is the shortest edge; an int crop_size a square"),
        dict(name="clip_fe_crop_larger", cls="CLIPFeatureExtractor",
             init={"size": {"shortest_edge": 20}, "crop_size": {"height": 24, "width": 22}}, inputs=IMAGES,
             notes="the older class name; a crop larger than the resized image pads with zeros"),
        # audio
        dict(name="w2v_default_padding_true", cls="Wav2Vec2FeatureExtractor", init={}, inputs=AUDIO,
             call={"padding": True, "sampling_rate": 16000},
             notes="no attention mask: each padded row is normalised INCLUDING its padding"),
        dict(name="w2v_longest_attention_mask", cls="Wav2Vec2FeatureExtractor", init={}, inputs=AUDIO,
             call={"padding": "longest", "return_attention_mask": True, "sampling_rate": 16000},
             notes="normalised over the real samples only; padding set to padding_value"),
        dict(name="w2v_max_length_truncation", cls="Wav2Vec2FeatureExtractor", init={"return_attention_mask": True},
             inputs=AUDIO, call={"padding": "max_length", "max_length": 300, "truncation": True,
                                 "sampling_rate": 16000}),
        dict(name="w2v_pad_to_multiple_of", cls="Wav2Vec2FeatureExtractor", init={"return_attention_mask": True},
             inputs=AUDIO, call={"padding": True, "pad_to_multiple_of": 128, "sampling_rate": 16000}),
        dict(name="w2v_return_attention_mask_false", cls="Wav2Vec2FeatureExtractor",
             init={"return_attention_mask": True}, inputs=AUDIO,
             call={"padding": True, "return_attention_mask": False, "sampling_rate": 16000},
             notes="the call argument overrides the attribute"),
        dict(name="w2v_no_normalize", cls="Wav2Vec2FeatureExtractor", init={"do_normalize": False}, inputs=AUDIO,
             call={"padding": True, "return_attention_mask": True, "sampling_rate": 16000}),
        dict(name="w2v_padding_value_1", cls="Wav2Vec2FeatureExtractor",
             init={"padding_value": 1.0, "return_attention_mask": True}, inputs=AUDIO,
             call={"padding": True, "sampling_rate": 16000}),
        dict(name="w2v_padding_value_1_no_mask", cls="Wav2Vec2FeatureExtractor", init={"padding_value": 1.0},
             inputs=AUDIO, call={"padding": True, "sampling_rate": 16000},
             notes="padded with 1.0, then each row normalised including the padding"),
        dict(name="w2v_single_unbatched", cls="Wav2Vec2FeatureExtractor", init={}, inputs=["audio_251"],
             batched=False, call={"sampling_rate": 16000}, notes="one 1-D clip, not in a list"),
        dict(name="w2v_no_padding_unequal", cls="Wav2Vec2FeatureExtractor", init={}, inputs=AUDIO,
             call={"padding": False, "sampling_rate": 16000}, return_tensors=None,
             notes="unequal lengths, no padding, return_tensors=None: one array per clip, stored as "
             "<case>.input_values.<i>"),
    ]
    for case in c:
        case.setdefault("call", {})
        case.setdefault("batched", True)
        case.setdefault("input_format", "numpy")
        case.setdefault("notes", "")
        case.setdefault("return_tensors", "np")
    return c


def run_case(case: dict[str, Any], inputs: dict[str, np.ndarray]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    import PIL.Image
    import transformers

    cls = getattr(transformers, case["cls"])
    with capture_warnings() as init_messages:
        extractor = cls(**case["init"])
    data: list[Any] = [inputs[name] for name in case["inputs"]]
    if case["input_format"] == "pil":
        data = [PIL.Image.fromarray(x) for x in data]
    arg = data if case["batched"] else data[0]
    record: dict[str, Any] = {
        "name": case["name"],
        "class": case["cls"],
        "init_kwargs": jsonable(case["init"]),
        "call_kwargs": dict(case["call"], return_tensors=case["return_tensors"]),
        "inputs": case["inputs"],
        "input_format": case["input_format"],
        "batched": case["batched"],
        "notes": case["notes"],
        "to_dict": jsonable(extractor.to_dict()),
        "to_json_string": json.loads(extractor.to_json_string()),
        "repr": repr(extractor),
        "init_warnings": sorted(set(init_messages)),
    }
    if "init_repr" in case:
        record["init_kwargs_repr"] = case["init_repr"]
    arrays: dict[str, np.ndarray] = {}
    with capture_warnings() as messages:
        try:
            out = extractor(arg, return_tensors=case["return_tensors"], **case["call"])
        except Exception as err:  # recorded: the reference cannot do this one
            message = str(err)
            if len(message) > 160:  # some messages embed a whole array repr
                message = message[:160] + "..."
            record["reference_error"] = {"type": type(err).__name__, "message": message}
            out = None
    record["warnings"] = sorted(set(messages))
    record["outputs"] = {}
    if out is not None:
        for key in sorted(out.keys()):
            if case["return_tensors"] is None:  # a list of per-example arrays
                items = [np.asarray(v) for v in out[key]]
                keys = [f"{case['name']}.{key}.{i}" for i in range(len(items))]
                arrays.update(zip(keys, items))
                record["outputs"][key] = {"keys": keys, "shapes": [list(v.shape) for v in items],
                                          "dtype": str(items[0].dtype)}
                continue
            value = np.asarray(out[key])
            assert value.dtype != object, (case["name"], key)
            arrays[f"{case['name']}.{key}"] = value
            record["outputs"][key] = {"key": f"{case['name']}.{key}", "shape": list(value.shape),
                                      "dtype": str(value.dtype)}
    return record, arrays


def generate(out: Path) -> None:
    folder = fresh_dir(out / "feature_extraction")
    inputs = make_inputs()
    np.savez(folder / "inputs.npz", **inputs)
    records = []
    expected: dict[str, np.ndarray] = {}
    for case in cases():
        record, arrays = run_case(case, inputs)
        records.append(record)
        expected.update(arrays)
        print(f"  feature_extraction/{case['name']}: {sorted(record['outputs']) or record.get('reference_error')}")
    np.savez_compressed(folder / "expected.npz", **expected)
    write_json(
        folder / "cases.json",
        {
            "reference": reference_tag(),
            "seed": SEED,
            "inputs_file": "inputs.npz",
            "expected_file": "expected.npz",
            "atol": 1e-6,
            "inputs": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in inputs.items()},
            "cases": records,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--allow-other-version", action="store_true")
    args = parser.parse_args()
    check_reference(args.allow_other_version)
    quiet_reference()
    generate(args.out)


if __name__ == "__main__":
    main()
