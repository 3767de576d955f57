"""Image inputs of every kind, bad inputs, and the transforms."""

from __future__ import annotations

import numpy as np
import PIL.Image
import pytest

from modelyard import ImageFeatureExtractionMixin, ViTFeatureExtractor, ViTImageProcessor
from modelyard import image_transforms as T
from modelyard.errors import ConfigurationError, FeatureExtractionError
from modelyard.feature_extraction import BatchFeature


@pytest.fixture
def image(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)


def test_input_kinds_agree(image: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    proc = ViTImageProcessor(size=16)
    ref = proc(image, return_tensors="np")["pixel_values"]
    assert ref.shape == (1, 3, 16, 16) and ref.dtype == np.float32
    variants = [
        PIL.Image.fromarray(image),
        np.ascontiguousarray(image.transpose(2, 0, 1)),  # CHW
        image.transpose(2, 0, 1),  # CHW, non-contiguous
        torch.from_numpy(image),
        image[None],  # a 4-D batch of one
        [[image]],  # nested list
    ]
    for variant in variants:
        np.testing.assert_array_equal(proc(variant, return_tensors="np")["pixel_values"], ref)


def test_return_types(image: np.ndarray) -> None:
    proc = ViTFeatureExtractor(size=8)
    as_list = proc([image, image])["pixel_values"]
    assert isinstance(as_list, list) and len(as_list) == 2 and as_list[0].shape == (3, 8, 8)
    stacked = proc([image, image], return_tensors="np")
    assert isinstance(stacked, BatchFeature) and stacked.pixel_values.shape == (2, 3, 8, 8)
    last = proc(image, return_tensors="np", data_format="channels_last")["pixel_values"]
    np.testing.assert_array_equal(last[0], stacked["pixel_values"][0].transpose(1, 2, 0))


def test_return_tensors_pt(image: np.ndarray) -> None:
    torch = pytest.importorskip("torch")
    out = ViTFeatureExtractor(size=8)([image, image], return_tensors="pt")
    assert isinstance(out["pixel_values"], torch.Tensor) and tuple(out["pixel_values"].shape) == (2, 3, 8, 8)
    moved = out.to(torch.float16)
    assert moved["pixel_values"].dtype == torch.float16


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "LA"])
def test_pil_modes_are_converted_to_rgb(mode: str, image: np.ndarray) -> None:
    pil = PIL.Image.fromarray(image).convert(mode)
    out = ViTImageProcessor(size=12)(pil, return_tensors="np")["pixel_values"]
    expected = ViTImageProcessor(size=12)(pil.convert("RGB"), return_tensors="np")["pixel_values"]
    np.testing.assert_array_equal(out, expected)


def test_every_pil_filter_by_name_and_code(image: np.ndarray) -> None:
    for member in PIL.Image.Resampling:
        expected = np.asarray(PIL.Image.fromarray(image).resize((9, 7), resample=member)).transpose(2, 0, 1) / 255.0
        for given in (member, int(member), member.name.lower(), f"PIL.Image.{member.name}"):
            proc = ViTImageProcessor(size={"height": 7, "width": 9}, resample=given, do_normalize=False)
            np.testing.assert_allclose(proc(image, return_tensors="np")["pixel_values"][0], expected, atol=1e-6)


def test_mixed_sizes_without_resize(image: np.ndarray) -> None:
    proc = ViTImageProcessor(do_resize=False)
    out = proc([image, image[:20]])["pixel_values"]
    assert [o.shape for o in out] == [(3, 40, 50), (3, 20, 50)]
    rows = proc([image, image[:20]], return_tensors="np")["pixel_values"]  # the reference's object array of images
    assert rows.dtype == object and [r.shape for r in rows] == [(3, 40, 50), (3, 20, 50)]
    with pytest.raises(FeatureExtractionError, match="different shapes"):
        proc([image, image[:20]], return_tensors="pt")


def test_center_crop_and_shortest_edge(image: np.ndarray) -> None:
    proc = ViTImageProcessor(size={"shortest_edge": 20}, do_center_crop=True, crop_size={"height": 16, "width": 18})
    out = proc(image, return_tensors="np")["pixel_values"]
    assert out.shape == (1, 3, 16, 18)
    resized = np.asarray(PIL.Image.fromarray(image).resize((25, 20), resample=PIL.Image.BILINEAR))
    expected = (resized[2:18, 3:21].transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    np.testing.assert_allclose(out[0], expected, atol=1e-6)


# ---------------------------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((10, 12, 5), np.uint8), r"shape \(10, 12, 5\).*1 or 3 channels"),
        (np.zeros((10, 12, 2), np.uint8), "grayscale \\+ alpha"),
        (np.zeros((4, 10, 12), np.uint8), "RGBA"),
        (np.zeros((2, 3, 4, 5, 6), np.uint8), "2-D, 3-D or a 4-D batch"),
        ("cat.png", "PIL image, a numpy array"),
        ([], "empty batch"),
        ([np.zeros((5, 5, 3), np.uint8), "x"], "got a str in the list"),
    ],
)
def test_bad_images_are_clear_errors(bad: object, match: str) -> None:
    with pytest.raises(FeatureExtractionError, match=match):
        ViTImageProcessor()(bad)


def test_nan_is_an_error_naming_the_image() -> None:
    good = np.full((8, 8, 3), 0.5, np.float32)
    bad = good.copy()
    bad[3, 3, 1] = np.nan
    for proc in (ViTImageProcessor(), ViTImageProcessor(do_resize=False)):
        with pytest.raises(FeatureExtractionError, match="Image 1.*NaN"):
            proc([good, bad])


def test_out_of_range_values_cannot_be_resized() -> None:
    with pytest.raises(FeatureExtractionError, match=r"\[0, 1\].*got \[-0.5"):
        ViTImageProcessor()(np.full((8, 8, 3), -0.5, np.float32))
    with pytest.raises(FeatureExtractionError, match=r"\[0, 255\].*got \[0, 300\]"):
        ViTImageProcessor()(np.array([[[0, 0, 0], [300, 1, 1]]], dtype=np.int64).repeat(4, 0))


def test_mean_with_the_wrong_length(image: np.ndarray) -> None:
    with pytest.raises(FeatureExtractionError, match="image_mean has 2 values"):
        ViTImageProcessor(image_mean=[0.5, 0.5])(image)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resample": "lanczoss"}, "not a Pillow resampling filter.*BOX"),
        ({"resample": 42}, "not a Pillow resampling filter"),
        ({"size": {"h": 3}}, "'height' and 'width'"),
        ({"size": -3}, "not an image size"),
    ],
)
def test_bad_settings(kwargs: dict, match: str) -> None:
    with pytest.raises((ConfigurationError, FeatureExtractionError), match=match):
        ViTImageProcessor(**kwargs)


def test_misspelt_call_option_is_refused(image: np.ndarray) -> None:
    with pytest.raises(TypeError, match="'do_resise' \\(did you mean 'do_resize'\\?\\)"):
        ViTImageProcessor()(image, do_resise=False)


def test_other_unknown_call_options_are_ignored_with_a_warning(image: np.ndarray) -> None:
    """As in the reference: one set of options is often passed to several processors."""
    with pytest.warns(UserWarning, match="ignores the keyword arguments \\['extra_argument'\\]"):
        out = ViTImageProcessor()(image, extra_argument=True, return_tensors="np")
    assert out["pixel_values"].shape == (1, 3, 224, 224)


# ---------------------------------------------------------------------------------------------- transforms
def test_transforms(image: np.ndarray) -> None:
    assert T.resolve_resample("PIL.Image.Resampling.BICUBIC") == 3 and T.resolve_resample("antialias") == 1
    chw = np.ascontiguousarray(image.transpose(2, 0, 1))
    assert T.infer_channel_format(chw) == "channels_first" and T.infer_channel_format(image) == "channels_last"
    resized = T.resize(chw, (10, 11), "bicubic")
    assert resized.shape == (3, 10, 11) and resized.dtype == np.uint8
    floats = T.resize(image / 255.0, (10, 11))
    assert floats.dtype == np.float32 and floats.max() <= 1.0
    assert T.center_crop(image, (60, 10)).shape == (60, 10, 3)  # padded then cropped
    norm = T.normalize(image, [0.5] * 3, [2.0] * 3)
    np.testing.assert_allclose(norm, (image.astype(np.float32) - 0.5) / 2.0)
    np.testing.assert_array_equal(T.flip_channel_order(image), image[..., ::-1])
    assert T.convert_to_rgb(image[:, :, 0]).shape == (40, 50, 3)
    a, b = T.affine_coefficients(3, scale=1 / 255, mean=[0.5] * 3, std=[0.5] * 3)
    np.testing.assert_allclose(image[0, 0] * a + b, (image[0, 0] / 255 - 0.5) / 0.5, atol=1e-6)
    with pytest.raises(FeatureExtractionError, match="must not contain 0"):
        T.affine_coefficients(3, scale=1.0, mean=[0.0] * 3, std=[1.0, 0.0, 1.0])


def test_classic_mixin_helpers(image: np.ndarray) -> None:
    mixin = ImageFeatureExtractionMixin()
    pil = mixin.to_pil_image(image)
    assert pil.size == (50, 40)
    assert mixin.resize(pil, 20, default_to_square=False).size == (25, 20)
    assert mixin.resize(image, (10, 12)).size == (12, 10)
    array = mixin.to_numpy_array(pil)
    assert array.shape == (3, 40, 50) and array.dtype == np.float32 and array.max() <= 1.0
    normed = mixin.normalize(pil, [0.5] * 3, [0.5] * 3)
    np.testing.assert_allclose(normed, (array - 0.5) / 0.5, atol=1e-6)
    assert mixin.center_crop(pil, 10).size == (10, 10)
    assert mixin.center_crop(array, (8, 6)).shape == (3, 8, 6)
    assert mixin.flip_channel_order(array).shape == (3, 40, 50)
    assert mixin.expand_dims(array).shape == (1, 3, 40, 50)
    assert mixin.convert_rgb(pil.convert("L")).mode == "RGB"
    assert mixin.rotate(pil, 90, expand=1).size == (40, 50)
    with pytest.raises(FeatureExtractionError, match="only PIL.Image.Image"):
        mixin.to_pil_image([1, 2, 3])


def test_vit_feature_extractor_takes_both_helper_forms(image: np.ndarray) -> None:
    """ViTFeatureExtractor has the classic helpers and the image processor's under the same names: a call in
    the image processor's form (dict size, data-format keywords: how code written for today's reference calls
    it) gets the image processor's result; the classic form still gets the classic one."""
    extractor, processor = ViTFeatureExtractor(), ViTImageProcessor()
    chw = image.transpose(2, 0, 1)
    size = {"height": 20, "width": 24}
    resized = extractor.resize(chw, size=size)
    assert isinstance(resized, np.ndarray) and resized.shape == (3, 20, 24)
    np.testing.assert_array_equal(resized, processor.resize(chw, size=size))
    np.testing.assert_array_equal(extractor.center_crop(chw, size=size), processor.center_crop(chw, size=size))
    floats = chw.astype(np.float32) / 255
    np.testing.assert_array_equal(
        extractor.normalize(floats, [0.5] * 3, [0.25] * 3, input_data_format="channels_first"),
        processor.normalize(floats, [0.5] * 3, [0.25] * 3, input_data_format="channels_first"))
    np.testing.assert_array_equal(extractor.rescale(chw, 1 / 255, data_format="channels_first"),
                                  processor.rescale(chw, 1 / 255, data_format="channels_first"))
    # the classic form, unchanged: PIL out for resize, int sizes, the input's own numbers for rescale
    assert extractor.resize(image, 20, default_to_square=False).size == (25, 20)
    assert extractor.resize(chw, (10, 12), PIL.Image.Resampling.BOX).size == (12, 10)
    assert extractor.center_crop(chw, 10).shape == (3, 10, 10)
    assert extractor.rescale(chw, 0.5).dtype == (chw * 0.5).dtype


def test_image_processors_say_they_are_not_fast_and_do_not_save_it(tmp_path) -> None:
    import json

    from modelyard import ViTImageProcessor

    processor = ViTImageProcessor()
    assert processor.is_fast is False  # the reference's slow processors answer the same
    processor.save_pretrained(tmp_path)
    assert "is_fast" not in json.loads((tmp_path / "preprocessor_config.json").read_text())
