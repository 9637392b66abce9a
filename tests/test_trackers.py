"""Trackers with the real packages, read back with each one's own reader: TensorBoard's event accumulator, MLflow's
client, the records of W&B's offline .wandb file. What they hold must be what metrics.parquet holds."""
import glob
import struct

import pandas as pd
import pytest

ALL = ["logger=[tensorboard,mlflow,wandb]", "train.checkpoint_every_s=0.001"]  # a checkpoint (and a log) per step


def medians(metrics, column):
    return metrics.groupby("step")[column].median()


def tensorboard_scalars(run_dir, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})  # 0: keep every event
    acc.Reload()
    events = acc.Scalars(tag)
    return pd.Series([e.value for e in events], index=[e.step for e in events]), acc.Tags()["scalars"]


def mlflow_run(run_dir):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{run_dir / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("grokbench").experiment_id])
    return client, run


def wandb_history(run_dir):
    """{step: {key: value}} from the offline run's .wandb file: a LevelDB-style log of wandb's Record protobufs (7-byte
    file header, 32 KiB blocks, 7-byte record headers; wandb 0.31 ships no Python reader for it)."""
    import json

    from wandb.proto import wandb_internal_pb2

    (path,) = glob.glob(str(run_dir / "wandb" / "offline-run-*" / "run-*.wandb"))
    data = open(path, "rb").read()
    ident, magic, _ = struct.unpack("<4sHB", data[:7])
    assert (ident, magic) == (b":W&B", 0xBEE1)
    pos, block, part, history = 7, 32768, b"", {}
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        part, pos = part + data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind in (1, 4):  # FULL or LAST: a whole record
            record = wandb_internal_pb2.Record()
            record.ParseFromString(part)
            part = b""
            if record.WhichOneof("record_type") == "history":
                items = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item}
                history[record.history.step.num] = items
    return history


def test_trackers_log_what_metrics_parquet_holds(run):
    pytest.importorskip("tensorboard")
    pytest.importorskip("mlflow")
    pytest.importorskip("wandb")
    summary, metrics, out = run(ALL)
    expected = medians(metrics, "test_acc")

    tb, tags = tensorboard_scalars(out, "test_acc/median")
    pd.testing.assert_series_equal(tb, expected, check_names=False, check_index_type=False, check_dtype=False,
                                   atol=1e-6, rtol=0)
    assert {"test_acc/member_0", "test_acc/member_1", "train_loss/q25", "train_loss/q75"} <= set(tags)

    client, mlrun = mlflow_run(out)
    history = client.get_metric_history(mlrun.info.run_id, "test_acc/median")
    ml = pd.Series([m.value for m in history], index=[m.step for m in history]).sort_index()
    pd.testing.assert_series_equal(ml, expected, check_names=False, check_index_type=False, check_dtype=False,
                                   atol=1e-6, rtol=0)
    member = client.get_metric_history(mlrun.info.run_id, "train_acc/member_1")
    assert [m.value for m in sorted(member, key=lambda m: m.step)] == \
        pytest.approx(metrics[metrics["member"] == 1].sort_values("step")["train_acc"].tolist())
    assert mlrun.data.params["optimizer.weight_decay"] == "1.0" and mlrun.data.params["seeds"] == "2"
    assert mlrun.data.tags["run_dir"] == str(out.resolve())
    assert mlrun.info.status == "FINISHED"

    history = wandb_history(out)
    wb = pd.Series({step: values["test_acc/median"] for step, values in history.items()}).sort_index()
    pd.testing.assert_series_equal(wb, expected, check_names=False, check_index_type=False, check_dtype=False,
                                   atol=1e-6, rtol=0)


def test_per_member_series_only_up_to_max_members(run):
    pytest.importorskip("tensorboard")
    _, metrics, out = run(["logger=[tensorboard]", "logger.max_members=1"])
    tb, tags = tensorboard_scalars(out, "test_acc/q75")
    pd.testing.assert_series_equal(tb, metrics.groupby("step")["test_acc"].quantile(0.75), check_names=False,
                                   check_index_type=False, check_dtype=False, atol=1e-6, rtol=0)
    assert not [t for t in tags if "/member_" in t]  # 2 members > max_members=1: population series only


def test_a_failing_tracker_is_one_warning_not_a_lost_run(run, monkeypatch, caplog):
    pytest.importorskip("mlflow")
    monkeypatch.setitem(__import__("sys").modules, "wandb", None)  # as if the package were not installed
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    # nothing listens on port 9 (discard) of this machine: the server is down
    summary, metrics, out = run(["logger=[mlflow,wandb]", "logger.mlflow.tracking_uri=http://127.0.0.1:9"])
    assert len(summary) == 2 and metrics["step"].max() == 20 and (out / "summary.parquet").exists()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert sum("logger wandb: could not start" in w for w in warnings) == 1
    assert sum("logger mlflow: could not start" in w for w in warnings) == 1


def test_chunked_run_logs_the_whole_population(run):
    pytest.importorskip("tensorboard")
    _, metrics, out = run(["logger=[tensorboard]", "population.chunk=1"])  # 2 members trained one after another
    tb, tags = tensorboard_scalars(out, "test_acc/median")
    pd.testing.assert_series_equal(tb, medians(metrics, "test_acc"), check_names=False, check_index_type=False,
                                   check_dtype=False, atol=1e-6, rtol=0)
    assert {"test_acc/member_0", "test_acc/member_1"} <= set(tags)
