"""The results store: filters, schema guard, CSV, and concurrent writers losing nothing."""

import multiprocessing
from pathlib import Path
import sqlite3

import pytest

from edgekit.environment import cpu_features, cpu_id, cpu_label, fingerprint, int8_dot_product
from edgekit.record.export import to_csv
from edgekit.record.store import ResultsStore, StoreError

from conftest import assert_clean_error, run_edgekit


def _result(i: int, **extra) -> dict:
    return {"artifact": f"/m/a{i % 3}.tflite", "model": "v1-0.25-128", "runtime": "litert", "runtime_version": "2.3.0",
            "device": "host", "threads": 1 + i % 2, "batch": 1, "median_ms": float(i), **extra}


def _write_many(path: str, start: int, count: int) -> None:
    with ResultsStore(path) as store:
        for i in range(start, start + count):
            store.record("bench", _result(i), {"writer": start})


def test_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / "shared.db")
    ResultsStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(path, k * 1000, 40)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with ResultsStore(path) as store:
        rows = store.query()
    assert len(rows) == 160
    assert sorted(r["value"] for r in rows) == sorted(float(k * 1000 + i) for k in range(4) for i in range(40))
    assert len({r["id"] for r in rows}) == 160


def test_filters_and_full_records(tmp_path):
    with ResultsStore(tmp_path / "r.db") as store:
        for i in range(6):
            store.record("bench", _result(i), fingerprint())
        store.record("eval", {"artifact": "/m/a0.tflite", "top1": 0.62, "count": 300, "data": "eval300"}, fingerprint())
        assert len(store.query(kind="bench")) == 6
        assert len(store.query(threads=2)) == 3
        assert len(store.query(artifact="a0")) == 3
        assert store.query(limit=1)[0]["kind"] == "eval"
        row = store.query(kind="eval")[0]
        assert row["value"] == 0.62 and row["dataset"] == "eval300" and row["result"]["count"] == 300
        assert row["environment"]["python"]
        lines = to_csv(store.query(kind="bench")).splitlines()
    assert len(lines) == 7 and "median_ms" in lines[0] and "env_cpu" in lines[0]


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    ResultsStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="newer edgekit"):
        ResultsStore(path)


@pytest.mark.parametrize("case", ["parent_is_a_file", "not_a_database"])
def test_bad_database_is_one_line(case, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"this is not a folder, nor a database\n" * 200)
    path = blocker / "r.db" if case == "parent_is_a_file" else blocker
    assert_clean_error(run_edgekit("results", "--db", str(path)), "results database")


def test_cpu_features_name_the_int8_kernels_a_cpu_gets():
    x86 = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni\n"
    arm = "processor\t: 0\nFeatures\t: fp asimd evtstrm asimddp i8mm\nCPU part\t: 0xd08\n"
    assert cpu_features(x86) == ["avx2", "fma", "avx512f", "avx512_vnni"]
    assert cpu_features(arm) == ["asimd", "asimddp", "i8mm"]
    assert cpu_features("processor\t: 0\n") == []
    assert isinstance(fingerprint()["cpu_features"], list)


def test_cpu_id_says_which_core_a_marketing_name_stands_for():
    """Cloud VMs say 'AMD EPYC' for Zen 2, 4 and 5 (fp32 peaks of 47 and 108 GMAC/s measured behind that name)."""
    def x86(vendor, family, model, stepping=1):
        return (f"processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: {model}\n"
                f"model name\t: AMD EPYC\nstepping\t: {stepping}\n\nprocessor\t: 1\nvendor_id\t: Other\n")
    assert cpu_id(x86("AuthenticAMD", 26, 2)) == "Zen 5 (AMD family 26 model 2 stepping 1)"
    assert cpu_id(x86("AuthenticAMD", 25, 17)) == "Zen 4 (AMD family 25 model 17 stepping 1)"  # Genoa, 0x11
    assert cpu_id(x86("AuthenticAMD", 25, 1)).startswith("Zen 3 ")  # Milan
    assert cpu_id(x86("AuthenticAMD", 23, 49)).startswith("Zen 2 ")  # Rome, 0x31
    assert cpu_id(x86("GenuineIntel", 6, 143, 8)) == "Sapphire Rapids (Intel family 6 model 143 stepping 8)"
    assert cpu_id(x86("GenuineIntel", 6, 200)) == "Intel family 6 model 200 stepping 1"  # not in the table: raw
    pi4 = "processor\t: 0\nCPU implementer\t: 0x41\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n"
    assert cpu_id(pi4) == "Cortex-A72 (Arm part 0xd08 r0p3)"
    assert cpu_id("processor\t: 0\n") == "" and cpu_id("cpu family\t: x\n") == ""
    assert cpu_label({"cpu": "AMD EPYC", "cpu_id": "Zen 5 (x)"}) == "AMD EPYC [Zen 5 (x)]"
    assert cpu_label({"cpu": "AMD EPYC"}) == "AMD EPYC"  # a record from before cpu_id
    assert "cpu_id" in fingerprint()


def test_int8_dot_product_picks_the_widest():
    assert int8_dot_product(["avx2", "avx_vnni", "avx512_vnni"]) == "avx512_vnni"
    assert int8_dot_product(["asimd", "asimddp"]) == "asimddp"
    assert int8_dot_product(["avx2", "fma"]) == "none"


def test_a_bug_is_one_line_naming_its_traceback_and_a_user_error_stays_itself(tmp_path, monkeypatch):
    from edgekit.errors import EdgekitError, describe_failure

    monkeypatch.setenv("EDGEKIT_LOG_DIR", str(tmp_path))
    try:
        {}["missing"]
    except KeyError as exc:
        line = describe_failure(exc, "a test")
    assert line.startswith("internal error in a test (KeyError:") and "traceback in" in line
    log = Path(line.rsplit("traceback in ", 1)[1])
    assert log.parent == tmp_path and "Traceback (most recent call last)" in log.read_text()
    assert describe_failure(EdgekitError("no such file: x"), "a test") == "no such file: x"
    try:
        try:
            raise RuntimeError("converter blew up")
        except RuntimeError as inner:
            raise EdgekitError("TFLiteConverter failed") from inner
    except EdgekitError as exc:
        exc.add_note("converter output (last lines):\nE0000 something")
        line = describe_failure(exc, "convert")
    assert line.startswith("TFLiteConverter failed (details: ")
    details = Path(line.split("(details: ", 1)[1].rstrip(")")).read_text()
    assert "converter blew up" in details and "E0000 something" in details  # the cause and the captured output
