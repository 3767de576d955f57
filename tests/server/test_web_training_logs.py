"""Reading training logs for the metrics tab (``server/web/training_logs.py``, ``server/web/tfevents.py``).

``trainer_state.json`` in the reference's own format (``json.dumps(asdict(state), indent=2, sort_keys=True)``),
cut heads of long logs, damage; TensorBoard event files written by tensorboardX (what the Trainer's callback
uses) and, through tensorboardX's compiled protocol buffers, the tensor scalars TensorFlow 2 writes; checksums,
partial records, skipped large records and byte limits. The pages themselves are tested in test_web_metrics.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from modelyard.server.gitobjects import FileEntry
from modelyard.server.web import tfevents, training_logs


def reference_state(records: list[dict[str, Any]], **fields: Any) -> str:
    """A trainer_state.json as the reference's ``TrainerState.save_to_json`` writes it."""
    state = {"best_global_step": None, "best_metric": None, "best_model_checkpoint": None, "epoch": 3.0,
             "eval_steps": 6, "global_step": 36, "is_hyper_param_search": False, "is_local_process_zero": True,
             "is_world_process_zero": True, "log_history": records, "logging_steps": 2, "max_steps": 36,
             "num_input_tokens_seen": 0, "num_train_epochs": 3, "save_steps": 12,
             "stateful_callbacks": {"TrainerControl": {"args": {"should_save": True}, "attributes": {}}},
             "total_flos": 1234.0, "train_batch_size": 8, "trial_name": None, "trial_params": None, **fields}
    return json.dumps(state, indent=2, sort_keys=True) + "\n"


def train_records(steps: int, *, eval_every: int = 10) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step in range(1, steps + 1):
        out.append({"epoch": step / 100, "grad_norm": 1.0 / step, "learning_rate": 5e-5 * (1 - step / (steps + 1)),
                    "loss": 2.0 / math.sqrt(step), "step": step})
        if step % eval_every == 0:
            out.append({"epoch": step / 100, "eval_accuracy": step / steps, "eval_loss": 1.9 / math.sqrt(step),
                        "eval_runtime": 0.5, "eval_samples_per_second": 100.0, "eval_steps_per_second": 12.5,
                        "step": step})
    out.append({"epoch": steps / 100, "step": steps, "total_flos": 1234.0, "train_loss": 0.5,
                "train_runtime": 10.0, "train_samples_per_second": 80.0, "train_steps_per_second": 10.0})
    return out


class Store:
    """The two calls of the hub that reading logs makes, over bytes held in memory."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.blobs = {hashlib.sha256(v).hexdigest(): v for v in files.values()}
        self.manifest = {p: FileEntry(hashlib.sha256(v).hexdigest(), len(v), "0" * 40, False) for p, v in files.items()}
        self.opened: list[str] = []

    def open_content(self, entry: FileEntry) -> BinaryIO:
        self.opened.append(entry.sha256)
        return io.BytesIO(self.blobs[entry.sha256])

    def small_json(self, entry: FileEntry) -> Any:
        return json.loads(self.blobs[entry.sha256])

    def metrics(self, source_id: str = "trainer_state", card: str | None = None) -> training_logs.Metrics:
        source = next(s for s in training_logs.find_sources(self.manifest) if s.id == source_id)
        return training_logs.read_metrics(self, self.manifest, source, card=card)  # type: ignore[arg-type]


# -- finding logs -------------------------------------------------------------------------------------
def test_sources_are_the_trainer_state_then_one_per_tensorboard_folder() -> None:
    paths = ["README.md", "checkpoint-500/trainer_state.json", "checkpoint-1500/trainer_state.json",
             "checkpoint-1000/trainer_state.json", "trainer_state.json", "other/trainer_state.json",
             "runs/b/events.out.tfevents.1700000100.host.1", "runs/b/events.out.tfevents.1700000000.host.0",
             "runs/a/events.out.tfevents.1690000000.host", "logs/events.out.tfevents.1.x", "events.txt"]
    sources = training_logs.find_sources(paths)
    assert [s.id for s in sources] == ["trainer_state", "tensorboard:logs", "tensorboard:runs/a", "tensorboard:runs/b"]
    assert sources[0].paths == ("trainer_state.json", "checkpoint-1500/trainer_state.json",
                                "checkpoint-1000/trainer_state.json", "checkpoint-500/trainer_state.json")
    assert sources[3].paths == ("runs/b/events.out.tfevents.1700000000.host.0",
                                "runs/b/events.out.tfevents.1700000100.host.1")  # in the order written
    assert training_logs.find_sources(["README.md", "model.safetensors", "nested/deeper/trainer_state.json"]) == []


def test_only_the_top_newest_checkpoint_and_last_checkpoint_states_are_read() -> None:
    paths = [f"checkpoint-{n}/trainer_state.json" for n in range(100, 2100, 100)] + [
        "last-checkpoint/trainer_state.json", "trainer_state.json"]
    source = training_logs.find_sources(paths)[0]
    assert training_logs.state_candidates(source) == [
        "trainer_state.json", "last-checkpoint/trainer_state.json", "checkpoint-2000/trainer_state.json"]


def test_tensorboard_runs_and_files_per_run_are_bounded() -> None:
    paths = [f"runs/r{i:02d}/events.out.tfevents.{j}.h" for i in range(20) for j in range(40)]
    sources = training_logs.find_sources(paths)
    assert len(sources) == training_logs.MAX_RUNS
    assert all(len(s.paths) == training_logs.MAX_EVENT_FILES for s in sources)


# -- trainer_state.json -------------------------------------------------------------------------------
def test_the_reference_format_gives_every_series_the_summary_and_the_settings() -> None:
    store = Store({"trainer_state.json": reference_state(train_records(40)).encode()})
    metrics = store.metrics()
    assert metrics.files == ["trainer_state.json"] and metrics.records == 45
    titles = [c.title for c in metrics.charts]
    assert titles == ["Loss", "Learning rate", "Gradient norm", "eval_accuracy", "eval_runtime",
                      "eval_samples_per_second", "eval_steps_per_second"]
    assert metrics.charts[0].names == ["loss", "eval_loss"]  # train and eval loss on one chart
    assert dict(metrics.summary) == {"epoch": "0.4", "total_flos": "1234", "train_loss": "0.5",
                                     "train_runtime": "10", "train_samples_per_second": "80",
                                     "train_steps_per_second": "10"}
    settings = dict(metrics.tables[0].rows)
    assert metrics.tables[0].title == "Trainer state"
    assert {k: settings[k] for k in ("train_batch_size", "num_train_epochs", "max_steps", "logging_steps")} == {
        "train_batch_size": "8", "num_train_epochs": "3", "max_steps": "36", "logging_steps": "2"}
    assert "best_metric" not in settings  # null fields are left out
    assert metrics.notes == []


def test_the_state_that_got_furthest_is_shown() -> None:
    store = Store({
        "trainer_state.json": reference_state(train_records(10), global_step=10).encode(),
        "checkpoint-20/trainer_state.json": reference_state(train_records(20), global_step=20).encode(),
        "checkpoint-10/trainer_state.json": reference_state(train_records(10), global_step=10).encode(),
    })
    metrics = store.metrics()
    assert metrics.files[0] == "checkpoint-20/trainer_state.json"
    assert len(store.opened) == 2  # the top file and the newest checkpoint, not every checkpoint


def test_training_args_json_beside_the_state_is_shown_and_a_pickle_never_read() -> None:
    args = {"learning_rate": 5e-5, "per_device_train_batch_size": 8, "optim": "adamw_torch", "report_to": ["none"]}
    store = Store({"checkpoint-36/trainer_state.json": reference_state(train_records(5)).encode(),
                   "checkpoint-36/training_args.json": json.dumps(args).encode(),
                   "checkpoint-36/training_args.bin": b"\x80\x04not read"})
    metrics = store.metrics()
    table = next(t for t in metrics.tables if t.title == "Training arguments")
    assert table.origin == "checkpoint-36/training_args.json"
    assert dict(table.rows) == {"learning_rate": "5e-05", "per_device_train_batch_size": "8", "optim": "adamw_torch",
                                "report_to": '["none"]'}
    assert any("training_args.bin is a pickle" in n and "never unpickles" in n for n in metrics.notes)
    assert hashlib.sha256(b"\x80\x04not read").hexdigest() not in store.opened


def test_the_model_cards_hyperparameter_list_is_shown() -> None:
    card = ("---\nlicense: mit\n---\n# run\n\n## Training procedure\n\n### Training hyperparameters\n\n"
            "The following hyperparameters were used during training:\n- learning_rate: 5e-05\n"
            "- train_batch_size: 8\n- optimizer: Use adamw_torch with betas=(0.9,0.999) and epsilon=1e-08\n"
            "- num_epochs: 3\n\n### Training results\n\n- not: this\n")
    assert training_logs.card_hyperparameters(card) == [
        ("learning_rate", "5e-05"), ("train_batch_size", "8"),
        ("optimizer", "Use adamw_torch with betas=(0.9,0.999) and epsilon=1e-08"), ("num_epochs", "3")]
    metrics = Store({"trainer_state.json": reference_state(train_records(3)).encode()}).metrics(card=card)
    assert metrics.tables[-1].title == "Training hyperparameters (model card)"
    assert training_logs.card_hyperparameters("# no such section\n- a: b\n") == []


def test_non_finite_values_are_left_out_and_counted() -> None:
    records = [{"loss": 1.0, "step": 1}, {"loss": math.nan, "step": 2}, {"loss": math.inf, "step": 3},
               {"loss": 0.5, "step": 4, "grad_norm": -math.inf}, {"loss": True, "step": 5},
               {"loss": "text", "step": 6}, {"loss": 0.25, "step": None}]
    text = reference_state(records)
    assert "NaN" in text and "Infinity" in text  # what Python's json module writes for them
    metrics = Store({"trainer_state.json": text.encode()}).metrics()
    assert metrics.charts[0].names == ["loss"] and "(2 points)" in metrics.charts[0].svg
    assert any("4 values were not finite" in n for n in metrics.notes)


def test_a_long_log_is_read_from_its_head_with_the_fields_after_it_from_its_tail(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training_logs, "STATE_HEAD", 200_000)
    monkeypatch.setattr(training_logs, "STATE_TAIL", 50_000)
    text = reference_state(train_records(6000), global_step=6000, max_steps=6000)
    assert len(text) > 1_000_000
    store = Store({"trainer_state.json": text.encode()})
    metrics = store.metrics()
    assert metrics.charts[0].names == ["loss", "eval_loss"]
    settings = dict(metrics.tables[0].rows)
    assert settings["max_steps"] == "6000" and settings["train_batch_size"] == "8"  # sorted after log_history
    assert settings["global_step"] == "6000"  # sorted before it: from the head
    note = next(n for n in metrics.notes if n.startswith("The log is"))
    assert note.startswith("The log is 1.") and "MB: its first 200 kB are drawn (up to step " in note
    up_to = int(note.rsplit("step ", 1)[1].removesuffix(").").split(".")[0])
    assert 100 < up_to < 6000  # the head's records only
    assert metrics.summary == []  # the final record is past the head


def test_cutting_a_log_anywhere_keeps_the_records_before_the_cut() -> None:
    text = reference_state(train_records(30))
    whole = Store({"trainer_state.json": text.encode()}).metrics()
    for cut in range(len(text) // 3, len(text), max(1, len(text) // 17)):
        records: list[dict] = []
        fields, complete = training_logs.parse_trainer_state(text[:cut], None, records.append)
        assert not complete
        assert records == json.loads(text)["log_history"][:len(records)]
    assert whole.records == 34


def test_damage_in_a_log_is_an_error_not_a_wrong_chart() -> None:
    text = reference_state(train_records(3000))
    broken = text.replace('"step": 10\n', '"step": 10 oops\n', 1)
    with pytest.raises(ValueError, match="does not parse"):
        training_logs.parse_trainer_state(broken, None, lambda record: None)
    with pytest.raises(ValueError, match="not a JSON object"):
        training_logs.parse_trainer_state("[1, 2]", None, lambda record: None)
    metrics = Store({"trainer_state.json": broken.encode()}).metrics()
    assert metrics.charts == [] and any("could not be read" in n for n in metrics.notes)


def test_a_deeply_nested_state_is_refused() -> None:
    text = reference_state([{"loss": 1.0, "step": 1}]).replace(
        '"trial_params": null', '"trial_params": ' + "[" * 100_000 + "]" * 100_000)
    metrics = Store({"trainer_state.json": text.encode()}).metrics()
    assert any("nests deeper" in n for n in metrics.notes) and metrics.charts == []


def test_metrics_and_charts_are_bounded() -> None:
    record = {f"metric_{i:04d}": 1.0 for i in range(500)}
    records = [{**record, "step": step} for step in range(1, 4)]
    metrics = Store({"trainer_state.json": reference_state(records).encode()}).metrics()
    assert len(metrics.charts) == training_logs.MAX_CHARTS
    assert any(f"Only the first {training_logs.MAX_METRICS} metrics" in n for n in metrics.notes)
    assert any("charts are drawn" in n for n in metrics.notes)


def test_long_series_are_drawn_with_a_bounded_number_of_points() -> None:
    metrics = Store({"trainer_state.json": reference_state(train_records(3000, eval_every=1000)).encode()}).metrics()
    loss = metrics.charts[0].svg
    assert f"({3000 + 3} points)" not in loss
    path = loss.split('<path d="')[1].split('"')[0]
    assert path.count("L") + 1 <= training_logs.POINTS
    assert any("at most 400 points" in n for n in metrics.notes)


def test_chart_groups_put_losses_together_then_lr_grad_norm_evals_and_the_rest() -> None:
    names = ["eval_steps_per_second", "zeta", "eval_f1", "learning_rate", "eval_loss", "grad_norm", "loss",
             "eval_runtime", "alpha", "eval_accuracy"]
    assert training_logs.chart_groups(names) == [
        ("Loss", ["loss", "eval_loss"]), ("Learning rate", ["learning_rate"]), ("Gradient norm", ["grad_norm"]),
        ("eval_accuracy", ["eval_accuracy"]), ("eval_f1", ["eval_f1"]), ("eval_runtime", ["eval_runtime"]),
        ("eval_steps_per_second", ["eval_steps_per_second"]), ("alpha", ["alpha"]), ("zeta", ["zeta"])]
    assert training_logs.chart_groups(["eval_loss"]) == [("Loss", ["eval_loss"])]


# -- TensorBoard event files --------------------------------------------------------------------------
def write_with_tensorboardx(folder: Path, steps: int = 20) -> Path:
    """What the Trainer's TensorBoard callback writes: scalars under train/ and eval/, the arguments as text."""
    from tensorboardX import SummaryWriter

    writer = SummaryWriter(logdir=str(folder))
    writer.add_text("args", '```json\n{"learning_rate": 0.1, "seed": 3}\n```')
    for step in range(1, steps + 1):
        writer.add_scalar("train/loss", 1.0 / step, step)
        writer.add_scalar("train/learning_rate", 0.1 * (1 - step / steps), step)
        writer.add_scalar("train/epoch", step / steps, step)
        if step % 5 == 0:
            writer.add_scalar("eval/loss", 0.9 / step, step)
            writer.add_scalar("eval/accuracy", step / steps, step)
    writer.add_scalar("train/train_runtime", 12.5, steps)
    writer.close()
    return next(folder.glob("events.out.tfevents.*"))


def test_crc32c_matches_the_published_check_value_and_tensorboardx() -> None:
    from tensorboardX.crc32c import crc32c as reference_crc

    assert tfevents.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    for data in (b"", b"a", bytes(range(256)) * 3):
        assert tfevents.crc32c(data) == reference_crc(data)


def test_tensorboardx_files_give_the_trainers_series_text_and_summary(tmp_path: Path) -> None:
    path = write_with_tensorboardx(tmp_path / "runs" / "exp")
    store = Store({f"runs/exp/{path.name}": path.read_bytes()})
    metrics = store.metrics("tensorboard:runs/exp")
    assert [c.title for c in metrics.charts] == ["Loss", "Learning rate", "eval_accuracy"]
    assert metrics.charts[0].names == ["loss", "eval_loss"]
    assert "(20 points)" in metrics.charts[1].svg  # learning_rate: every step
    assert dict(metrics.summary) == {"train_runtime": "12.5"}
    table = metrics.tables[0]
    assert table.title == "Training arguments (TensorBoard text)" and dict(table.rows) == {
        "learning_rate": "0.1", "seed": "3"}
    assert metrics.notes == []


def _frame(payload: bytes) -> bytes:
    length = struct.pack("<Q", len(payload))
    return (length + struct.pack("<I", tfevents.masked_crc32c(length)) + payload
            + struct.pack("<I", tfevents.masked_crc32c(payload)))


def _tensor_event(step: int, tag: str, **tensor: Any) -> bytes:
    from tensorboardX.proto import event_pb2, summary_pb2, tensor_pb2

    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor_pb2.TensorProto(**tensor))
    return event_pb2.Event(step=step, wall_time=1.5, summary=summary_pb2.Summary(value=[value])).SerializeToString()


def test_tensorflow_tensor_scalars_are_read(tmp_path: Path) -> None:
    events = [
        _tensor_event(1, "loss", dtype=1, float_val=[0.5]),  # DT_FLOAT, float_val
        _tensor_event(2, "loss", dtype=1, tensor_content=struct.pack("<f", 0.25)),  # DT_FLOAT, raw content
        _tensor_event(3, "loss", dtype=2, double_val=[0.125]),  # DT_DOUBLE
        _tensor_event(4, "loss", dtype=9, int64_val=[-2]),  # DT_INT64
        _tensor_event(5, "loss", dtype=19, half_val=[struct.unpack("<H", struct.pack("<e", 1.5))[0]]),  # DT_HALF
        _tensor_event(6, "loss", dtype=1, float_val=[1.0, 2.0]),  # not a scalar: ignored
        _tensor_event(7, "notes", dtype=7, string_val=[b"hello"]),  # DT_STRING: text
    ]
    parsed = [tfevents.parse_event(e) for e in events]
    assert [p.scalars for p in parsed] == [[("loss", 0.5)], [("loss", 0.25)], [("loss", 0.125)], [("loss", -2.0)],
                                           [("loss", 1.5)], [], []]
    assert parsed[6].texts == [("notes", "hello")] and parsed[0].step == 1 and parsed[0].wall_time == 1.5
    stream = io.BytesIO(b"".join(_frame(e) for e in events))
    assert list(tfevents.records(stream, limit=10**6)) == events


def test_damaged_or_cut_event_files_stop_with_a_reason() -> None:
    good = [_frame(_tensor_event(i, "loss", dtype=1, float_val=[1.0 / i])) for i in range(1, 6)]
    data = b"".join(good)
    corrupted = bytearray(data)
    corrupted[len(good[0]) + 20] ^= 0xFF  # inside the second record's payload
    stats = tfevents.RecordStats()
    assert len(list(tfevents.records(io.BytesIO(bytes(corrupted)), limit=10**6, stats=stats))) == 1
    assert stats.stopped and "checksum" in stats.stopped
    bad_length = bytearray(data)
    bad_length[len(good[0])] ^= 0x01  # the second record's length
    stats = tfevents.RecordStats()
    assert len(list(tfevents.records(io.BytesIO(bytes(bad_length)), limit=10**6, stats=stats))) == 1
    assert "length checksum" in (stats.stopped or "")
    stats = tfevents.RecordStats()
    assert len(list(tfevents.records(io.BytesIO(data[:-3]), limit=10**6, stats=stats))) == 4
    assert stats.stopped == "ends with a partial record"
    stats = tfevents.RecordStats()
    assert len(list(tfevents.records(io.BytesIO(data), limit=len(good[0]) * 2 + 5, stats=stats))) == 2
    assert "reading limit" in (stats.stopped or "") and stats.read <= len(good[0]) * 2 + 5


def test_large_records_are_skipped_unread() -> None:
    from tensorboardX.proto import event_pb2

    big = event_pb2.Event(step=1, file_version="x" * (tfevents.MAX_RECORD + 10)).SerializeToString()
    small = _tensor_event(2, "loss", dtype=1, float_val=[0.5])
    stats = tfevents.RecordStats()
    assert list(tfevents.records(io.BytesIO(_frame(big) + _frame(small)), limit=10**6, stats=stats)) == [small]
    assert stats.skipped == 1 and stats.read < 1000


def test_a_record_claiming_an_absurd_length_is_damage_not_a_seek() -> None:
    length = struct.pack("<Q", 1 << 62)
    header = length + struct.pack("<I", tfevents.masked_crc32c(length))  # a valid checksum: anyone can make one
    stats = tfevents.RecordStats()
    assert list(tfevents.records(io.BytesIO(header + b"x" * 100), limit=10**6, stats=stats)) == []
    assert stats.stopped == "damaged: the record at byte 0 claims 4611686018427387904 bytes"


def test_malformed_messages_raise_event_file_errors() -> None:
    for payload in (b"\x08", b"\x09\x00", b"\x2a\x05ab", b"\x0b", b"\x08" + b"\xff" * 11):
        with pytest.raises(tfevents.EventFileError):
            tfevents.parse_event(payload)


def test_a_damaged_event_file_is_drawn_up_to_the_damage_with_a_note(tmp_path: Path) -> None:
    path = write_with_tensorboardx(tmp_path / "run")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    store = Store({f"run/{path.name}": bytes(data)})
    metrics = store.metrics("tensorboard:run")
    assert metrics.charts and any("damaged" in n for n in metrics.notes)


def test_tensorboard_tags_get_the_trainers_names() -> None:
    assert [training_logs.tensorboard_name(t) for t in ("train/loss", "eval/loss", "test/f1", "Loss/train", "train/")
            ] == ["loss", "eval_loss", "test_f1", "Loss/train", "train/"]
