"""save_pretrained / from_pretrained round trips, Auto classes, registration, custom code, hub, and files read
and written by the reference library."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from fe_subprocess import run_reference

import modelyard
from modelyard import (
    AutoFeatureExtractor,
    AutoImageProcessor,
    AutoProcessor,
    FeatureExtractionMixin,
    PretrainedConfig,
    ViTFeatureExtractor,
    ViTImageProcessor,
    Wav2Vec2FeatureExtractor,
)
from modelyard.errors import (
    ConfigurationError,
    MissingFileError,
    RegistrationError,
    UnexpectedArgumentError,
    UnknownModelTypeError,
)


def test_round_trips(tmp_path: Path) -> None:
    extractors = [
        ViTFeatureExtractor(resample="bicubic", size=(32, 40), image_std=[0.2, 0.3, 0.4]),
        ViTImageProcessor(size=96, do_convert_rgb=True),
        Wav2Vec2FeatureExtractor(padding_value=1.0, return_attention_mask=True, sampling_rate=8000),
    ]
    for i, extractor in enumerate(extractors):
        folder = tmp_path / str(i)
        files = extractor.save_pretrained(folder)
        assert files == [folder / "preprocessor_config.json"]
        for path in (folder, folder / "preprocessor_config.json"):
            again = type(extractor).from_pretrained(path)
            expected = {**json.loads(extractor.to_json_string()), **({"resample": 3} if i == 0 else {})}
            assert json.loads(again.to_json_string()) == expected
        auto = AutoFeatureExtractor.from_pretrained(folder)
        assert type(auto) is type(extractor)
    assert type(AutoImageProcessor.from_pretrained(tmp_path / "0")) is ViTImageProcessor  # today's name
    assert type(AutoImageProcessor.from_pretrained(tmp_path / "1")) is ViTImageProcessor


def test_overrides_and_unused_kwargs(tmp_path: Path) -> None:
    Wav2Vec2FeatureExtractor().save_pretrained(tmp_path)
    fe = Wav2Vec2FeatureExtractor.from_pretrained(tmp_path, return_attention_mask=True)
    assert fe.return_attention_mask is True
    fe, unused = Wav2Vec2FeatureExtractor.from_pretrained(tmp_path, do_normalize=False, foo=1, return_unused_kwargs=True)
    assert fe.do_normalize is False and unused == {"foo": 1}
    # one policy for every kind: a misspelt setting is an error naming the intended one
    with pytest.raises(UnexpectedArgumentError, match="'do_normalise' \\(did you mean 'do_normalize'\\?\\)"):
        Wav2Vec2FeatureExtractor.from_pretrained(tmp_path, do_normalise=False)
    with pytest.warns(UserWarning, match="ignored keyword arguments that are not attributes: \\['foo'\\]"):
        Wav2Vec2FeatureExtractor.from_pretrained(tmp_path, foo=1)


def test_unknown_keys_are_kept(tmp_path: Path) -> None:
    (tmp_path / "preprocessor_config.json").write_text(
        json.dumps({"feature_extractor_type": "Wav2Vec2FeatureExtractor", "sampling_rate": 16000, "extra": [1, 2]})
    )
    fe = AutoFeatureExtractor.from_pretrained(tmp_path)
    assert fe.extra == [1, 2]
    fe.save_pretrained(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "preprocessor_config.json").read_text())["extra"] == [1, 2]


def test_reference_style_files_load(tmp_path: Path) -> None:
    """Files as the reference library writes them: image_processor_type, size dicts, do_rescale, processor_class,
    and the newer layout nesting the settings inside processor_config.json."""
    ref_vit = {"do_convert_rgb": None, "do_normalize": True, "do_rescale": False, "do_resize": True,
               "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "ViTImageProcessorFast", "image_std": [0.5] * 3,
               "resample": 2, "rescale_factor": 1 / 255, "size": {"height": 8, "width": 8},
               "processor_class": "SomeProcessor"}
    (tmp_path / "vit").mkdir()
    (tmp_path / "vit" / "preprocessor_config.json").write_text(json.dumps(ref_vit))
    proc = AutoImageProcessor.from_pretrained(tmp_path / "vit")
    assert type(proc) is ViTImageProcessor and proc.size == {"height": 8, "width": 8} and proc.do_rescale is False
    assert json.loads(proc.to_json_string())["processor_class"] == "SomeProcessor"
    fe = ViTFeatureExtractor.from_pretrained(tmp_path / "vit")  # old class, new file: do_rescale honoured
    image = np.full((8, 8, 3), 51 / 255, np.float32)  # survives the uint8 round trip of resizing
    np.testing.assert_allclose(fe(image, return_tensors="np")["pixel_values"], -0.6, atol=1e-6)

    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "processor_config.json").write_text(
        json.dumps({"processor_class": "X", "feature_extractor": {"feature_extractor_type": "Wav2Vec2FeatureExtractor",
                                                                   "sampling_rate": 8000}})
    )
    assert AutoFeatureExtractor.from_pretrained(tmp_path / "nested").sampling_rate == 8000


def test_model_type_fallback_from_config_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "wav2vec2"}))
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"sampling_rate": 16000}))
    assert type(AutoFeatureExtractor.from_pretrained(tmp_path)) is Wav2Vec2FeatureExtractor
    assert type(AutoProcessor.from_pretrained(tmp_path)) is Wav2Vec2FeatureExtractor  # no tokenizer: the extractor


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        (None, MissingFileError, "no preprocessor_config.json.*save_pretrained"),
        ("{not json", ConfigurationError, "not valid JSON: .* line 1"),
        ("[1, 2]", ConfigurationError, "must hold a JSON object"),
        ('{"feature_extractor_type": "NopeFeatureExtractor"}', UnknownModelTypeError, "'NopeFeatureExtractor'.*register"),
        ('{"sampling_rate": 1}', UnknownModelTypeError, "unknown model_type None"),
    ],
)
def test_bad_files(tmp_path: Path, content: str | None, error: type, match: str) -> None:
    if content is not None:
        (tmp_path / "preprocessor_config.json").write_text(content)
    with pytest.raises(error, match=match):
        AutoFeatureExtractor.from_pretrained(tmp_path)


def test_save_into_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigurationError, match="is a file"):
        Wav2Vec2FeatureExtractor().save_pretrained(tmp_path / "f")


def test_register(tmp_path: Path) -> None:
    class ToyConfig(PretrainedConfig):
        model_type = "toy-fe"

    class ToyFeatureExtractor(FeatureExtractionMixin):
        def __init__(self, gain: float = 1.0, **kwargs: object) -> None:
            self.gain = gain
            super().__init__(**kwargs)

    from modelyard.auto.feature_extraction_auto import FEATURE_EXTRACTOR_TABLE

    AutoFeatureExtractor.register(ToyConfig, ToyFeatureExtractor)
    try:
        with pytest.raises(RegistrationError, match="already used"):
            AutoFeatureExtractor.register(ToyConfig, ToyFeatureExtractor)
        with pytest.raises(RegistrationError, match="already used by a built-in"):
            AutoFeatureExtractor.register("vit", ToyFeatureExtractor)
        ToyFeatureExtractor(gain=2.0).save_pretrained(tmp_path)
        assert AutoFeatureExtractor.from_pretrained(tmp_path).gain == 2.0  # found by class name
        (tmp_path / "preprocessor_config.json").write_text(json.dumps({"gain": 3.0}))
        (tmp_path / "config.json").write_text(json.dumps({"model_type": "toy-fe"}))
        assert AutoFeatureExtractor.from_pretrained(tmp_path).gain == 3.0  # found by model_type
    finally:
        FEATURE_EXTRACTOR_TABLE.unregister("toy-fe")
    with pytest.raises(RegistrationError, match="FeatureExtractionMixin subclass"):
        AutoFeatureExtractor.register("toy2", dict)


CUSTOM_MODULE = textwrap.dedent(
    '''
    from modelyard import FeatureExtractionMixin

    class GainFeatureExtractor(FeatureExtractionMixin):
        model_input_names = ["input_values"]

        def __init__(self, gain=1.0, **kwargs):
            self.gain = gain
            super().__init__(**kwargs)

        def __call__(self, values):
            return [v * self.gain for v in values]
    '''
)


def test_custom_code_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "src"
    package.mkdir()
    (package / "gain_extractor.py").write_text(CUSTOM_MODULE)
    monkeypatch.syspath_prepend(str(package))
    from gain_extractor import GainFeatureExtractor  # type: ignore[import-not-found]

    GainFeatureExtractor.register_for_auto_class()
    try:
        files = GainFeatureExtractor(gain=3.0).save_pretrained(tmp_path / "saved")
    finally:
        GainFeatureExtractor._auto_class = None
    saved = json.loads((tmp_path / "saved" / "preprocessor_config.json").read_text())
    assert saved["auto_map"] == {"AutoFeatureExtractor": "gain_extractor.GainFeatureExtractor"}
    assert (tmp_path / "saved" / "gain_extractor.py").is_file()
    assert tmp_path / "saved" / "gain_extractor.py" in files
    from modelyard.errors import TrustRemoteCodeError

    with pytest.raises(TrustRemoteCodeError):
        AutoFeatureExtractor.from_pretrained(tmp_path / "saved")
    loaded = AutoFeatureExtractor.from_pretrained(tmp_path / "saved", trust_remote_code=True)
    assert type(loaded).__name__ == "GainFeatureExtractor" and loaded([2.0]) == [6.0]
    with pytest.raises(ConfigurationError, match="one of 'AutoFeatureExtractor', 'AutoImageProcessor'"):
        GainFeatureExtractor.register_for_auto_class("AutoModel")


def test_hub_round_trip(hub_env, tmp_path: Path) -> None:  # noqa: ANN001
    repo = hub_env.repo_id("vit-fe")
    ViTFeatureExtractor(resample="PIL.Image.BOX", size=32).push_to_hub(repo)
    loaded = AutoFeatureExtractor.from_pretrained(repo)
    assert type(loaded) is ViTFeatureExtractor and loaded.resample == 4 and loaded.size == 32
    assert type(AutoImageProcessor.from_pretrained(repo, revision="main")) is ViTImageProcessor


# ---------------------------------------------------------------------------------------------- reference library
@pytest.fixture(scope="module")
def ours_for_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ours")
    ViTFeatureExtractor(resample="PIL.Image.BOX", do_normalize=False, image_mean=[0.3, 0.3, 0.3]).save_pretrained(root / "vit_fe")
    ViTImageProcessor(size={"height": 20, "width": 30}, resample="bicubic").save_pretrained(root / "vit_ip")
    Wav2Vec2FeatureExtractor(padding_value=1.0, return_attention_mask=True).save_pretrained(root / "w2v")
    rng = np.random.default_rng(7)
    np.save(root / "image.npy", rng.integers(0, 256, (41, 57, 3), dtype=np.uint8))
    np.save(root / "audio.npy", rng.standard_normal(900).astype(np.float32))
    return root


REFERENCE_SCRIPT = textwrap.dedent(
    """
    import json, numpy as np
    import transformers as tr
    image, audio = np.load("image.npy"), np.load("audio.npy")
    clips = [audio, audio[:500]]
    report = {}
    # modelyard's files, read by the reference library
    for name, loader in (("vit_fe", tr.AutoFeatureExtractor), ("vit_ip", tr.AutoImageProcessor),
                         ("w2v", tr.AutoFeatureExtractor), ("vit_fe_cls", tr.ViTFeatureExtractor)):
        obj = loader.from_pretrained(name if name != "vit_fe_cls" else "vit_fe")
        report[name] = {"class": type(obj).__name__, "resample": int(getattr(obj, "resample", -1))}
        if name == "w2v":
            out = obj(clips, padding=True, sampling_rate=16000, return_tensors="np")
            np.save(name + ".out.npy", out["input_values"])
        else:
            np.save(name + ".out.npy", obj(image, return_tensors="np")["pixel_values"])
    # the reference library's own files, for modelyard to read
    tr.ViTImageProcessor(size={"height": 24, "width": 16}, image_mean=[0.4, 0.5, 0.6]).save_pretrained("ref_ip")
    tr.ViTFeatureExtractor(size=18, resample=0).save_pretrained("ref_fe")
    tr.Wav2Vec2FeatureExtractor(do_normalize=False, padding_side="left").save_pretrained("ref_w2v")
    np.save("ref_ip.out.npy", tr.ViTImageProcessor.from_pretrained("ref_ip")(image, return_tensors="np")["pixel_values"])
    np.save("ref_fe.out.npy", tr.ViTFeatureExtractor.from_pretrained("ref_fe")(image, return_tensors="np")["pixel_values"])
    print(json.dumps(report))
    """
)


@pytest.mark.reference
def test_files_are_shared_with_the_reference_library(ours_for_reference: Path) -> None:
    root = ours_for_reference
    report = json.loads(run_reference(REFERENCE_SCRIPT, cwd=root).strip().splitlines()[-1])
    assert report["vit_fe"] == {"class": "ViTFeatureExtractor", "resample": 4}
    assert report["vit_fe_cls"]["resample"] == 4
    assert report["vit_ip"] == {"class": "ViTImageProcessor", "resample": 3}
    assert report["w2v"]["class"] == "Wav2Vec2FeatureExtractor"
    image, audio = np.load(root / "image.npy"), np.load(root / "audio.npy")
    for name in ("vit_fe", "vit_ip"):
        ours = AutoFeatureExtractor.from_pretrained(root / name)(image, return_tensors="np")["pixel_values"]
        np.testing.assert_allclose(ours, np.load(root / f"{name}.out.npy"), atol=1e-6, rtol=0)
    ours = AutoFeatureExtractor.from_pretrained(root / "w2v")(
        [audio, audio[:500]], padding=True, sampling_rate=16000, return_tensors="np"
    )["input_values"]
    np.testing.assert_allclose(ours, np.load(root / "w2v.out.npy"), atol=1e-6, rtol=0)
    # and the reference's files in modelyard
    ip = AutoImageProcessor.from_pretrained(root / "ref_ip")
    assert type(ip) is ViTImageProcessor and ip.image_mean == [0.4, 0.5, 0.6]
    np.testing.assert_allclose(ip(image, return_tensors="np")["pixel_values"], np.load(root / "ref_ip.out.npy"), atol=1e-6)
    fe = AutoFeatureExtractor.from_pretrained(root / "ref_fe")  # image_processor_type: ViTFeatureExtractor
    assert type(fe) is modelyard.ViTFeatureExtractor
    np.testing.assert_allclose(fe(image, return_tensors="np")["pixel_values"], np.load(root / "ref_fe.out.npy"), atol=1e-6)
    w2v = AutoFeatureExtractor.from_pretrained(root / "ref_w2v")
    assert w2v.do_normalize is False and w2v.padding_side == "left"
