"""The tamper-evident audit log: its hash chain, file format, verification, explanations and CLI.

The references are independent of the module: the hash is recomputed here with hashlib over the
documented canonical form, and tampering is done on the file's bytes (edit, remove, swap, cut,
forge a re-hashed entry) with the expected first bad line known from the edit itself.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shieldwall.cli import app
from shieldwall.errors import ShieldwallError
from shieldwall.policy.audit import (
    AuditChain,
    AuditError,
    AuditVerdict,
    explain,
    read_audit,
    verify_audit,
    write_audit,
)

ZEROS = "0" * 64
HEADER = {"scenario": "two-nations", "scenario_sha256": "ab" * 32, "seed": 7, "shieldwall": "0.1.0"}


# -------------------------------------------------------------------------------------------------
# Independent reference: the documented hash over the documented canonical form.


def canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def ref_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256((entry["prev"] + canonical(body)).encode("utf-8")).hexdigest()


def line_of(entry: dict) -> bytes:
    return canonical(entry).encode("utf-8") + b"\n"


def rehash(entry: dict) -> dict:
    """What an attacker who knows the format does after an edit: rewrite the entry's own hash."""
    entry = dict(entry)
    entry["hash"] = ref_hash(entry)
    return entry


# -------------------------------------------------------------------------------------------------
# A synthetic run: two nations, one engagement through national approval, one delegated, filler.


def synthetic_chain(filler: int = 30) -> AuditChain:
    c = AuditChain(HEADER)
    c.append(5.0, "nm-c2", "authority_change", "authority:nm-pac-1", battery="nm-pac-1",
             **{"from": "delegated", "to": "national_approval"})
    c.append(100.0, "nm-c2", "release", "sharing:nordmark:tracks", message="TrackReport", info="tracks",
             to="alliance-bmdoc", to_nation="alliance", tracks=[4], sensors=["nm-radar-1"])
    c.append(101.0, "vs-c2", "withheld", "sharing:vestria:tracks", message="TrackReport", info="tracks",
             to="nm-c2", to_nation="nordmark", tracks=[2], sensors=["vs-radar-2"])
    c.append(110.0, "nm-c2", "release", "sharing:nordmark:tracks", message="TrackReport", info="tracks",
             to="alliance-bmdoc", to_nation="alliance", tracks=[4, 5], sensors=["nm-radar-1"])
    c.append(111.0, "vs-c2", "reduced", "sharing:vestria:sensor_identity", message="TrackReport",
             info="tracks", to="alliance-bmdoc", to_nation="alliance", tracks=[2], sensors=[],
             reductions=["sensor identity removed"])
    for k in range(filler):    # routine traffic, none of it about the engagement below
        c.append(112.0 + k, "nm-c2", "release", "sharing:nordmark:plots", message="PlotReport",
                 info="plots", to="alliance-bmdoc", to_nation="alliance", tracks=[100 + k],
                 sensors=["nm-radar-3"])
    c.append(120.0, "alliance-bmdoc", "caveat", "overflight:vestria", battery="vs-pac-1", track=7,
             threat="raid-north-2", reason="the intercept point lies over a nation that has not consented")
    c.append(123.0, "alliance-bmdoc", "order", "", order="alliance-bmdoc-3", battery="nm-pac-1",
             battery_nation="nordmark", track=7, threat="raid-north-2", solver="fast", shots=2, pk=0.8,
             value=100.0, intercept_s=190.2, launch_s=137.0, authority="national_approval",
             rules=["defends:nm-pac-1", "overflight:nordmark", "roe:nordmark"],
             sources=[{"nation": "nordmark", "track": 4, "sensors": ["nm-radar-1"]},
                      {"nation": "vestria", "track": 2, "sensors": ["vs-radar-2"]}])
    c.append(123.5, "alliance-bmdoc", "approval_requested", "approval:nm-c2:deadline", order="alliance-bmdoc-3",
             battery="nm-pac-1", decision_s=150.0)
    c.append(130.0, "nm-c2", "release", "sharing:nordmark:tracks", message="TrackReport", info="tracks",
             to="alliance-bmdoc", to_nation="alliance", tracks=[4], sensors=["nm-radar-1"])   # after: not cited
    c.append(137.7, "nm-c2", "approved", "approval:nm-c2:decision", order="alliance-bmdoc-3", battery="nm-pac-1")
    c.append(138.0, "nm-pac-1", "launch", "authority:nm-pac-1", order="alliance-bmdoc-3", battery="nm-pac-1",
             shots=2)
    c.append(140.0, "alliance-bmdoc", "order", "", order="alliance-bmdoc-4", battery="vs-pac-2",
             battery_nation="vestria", track=9, threat="raid-north-3", solver="exact", shots=1, pk=0.7,
             value=40.0, intercept_s=200.0, launch_s=141.0, authority="delegated",
             rules=["defends:vs-pac-2", "roe:vestria"],
             sources=[{"nation": "vestria", "track": 3, "sensors": ["vs-radar-2"]}])
    c.append(141.0, "vs-pac-2", "refused", "roe:vestria", order="alliance-bmdoc-4", battery="vs-pac-2",
             reason="no interceptor ready")
    c.append(150.0, "alliance-bmdoc", "order", "", order="alliance-bmdoc-5", battery="nm-pac-1",
             battery_nation="nordmark", track=7, threat="raid-north-2", solver="fast", shots=1, pk=0.8,
             value=100.0, intercept_s=210.0, launch_s=160.0, authority="national_approval",
             rules=["defends:nm-pac-1"], sources=[{"nation": "nordmark", "track": 4, "sensors": ["nm-radar-1"]}])
    c.append(150.5, "alliance-bmdoc", "approval_requested", "approval:nm-c2:deadline", order="alliance-bmdoc-5",
             battery="nm-pac-1", decision_s=170.0)
    c.append(155.0, "nm-c2", "denied", "approval:nm-c2:denial", order="alliance-bmdoc-5", battery="nm-pac-1")
    c.seal()
    return c


def write_run(tmp: Path, chain: AuditChain | None = None, *, anchor: bool = True) -> Path:
    """A run directory holding audit.jsonl and (with ``anchor``) metrics.json with the audit anchor."""
    chain = chain or synthetic_chain()
    tmp.mkdir(parents=True, exist_ok=True)
    write_audit(tmp / "audit.jsonl", chain)
    if anchor:
        metrics = {"leakers": 0, "audit": {"entries": len(chain.entries), "head": chain.head}}
        (tmp / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return tmp


def lines(run: Path) -> list[bytes]:
    return (run / "audit.jsonl").read_bytes().splitlines(keepends=True)


def put(run: Path, new: list[bytes]) -> None:
    (run / "audit.jsonl").write_bytes(b"".join(new))


def entry(raw: bytes) -> dict:
    return json.loads(raw)


N = len(synthetic_chain().entries)    # lines in the synthetic log, header and seal included


# -------------------------------------------------------------------------------------------------
# The chain and its file format.


def test_chain_follows_the_documented_hash_and_links():
    chain = synthetic_chain()
    entries = chain.entries
    assert 45 <= len(entries) <= 60
    assert entries[0]["kind"] == "run" and entries[0]["seq"] == 0 and entries[0]["prev"] == ZEROS
    assert entries[0]["header"] == HEADER
    prev = ZEROS
    for i, e in enumerate(entries):
        assert e["seq"] == i
        assert e["prev"] == prev
        assert e["hash"] == ref_hash(e)
        assert {"seq", "t_s", "node", "kind", "rule", "prev", "hash"} <= set(e)
        prev = e["hash"]
    assert chain.head == prev
    assert entries[-1]["kind"] == "seal" and entries[-1]["entries"] == len(entries) - 1
    assert entries[-1]["t_s"] == max(e["t_s"] for e in entries)


def test_file_is_canonical_json_lines(tmp_path):
    chain = synthetic_chain()
    write_audit(tmp_path / "audit.jsonl", chain)
    assert (tmp_path / "audit.jsonl").read_bytes() == b"".join(line_of(e) for e in chain.entries)
    assert read_audit(tmp_path / "audit.jsonl") == chain.entries


def test_append_returns_the_entry_with_kind_fields_in_place():
    c = AuditChain({"seed": 1})
    e = c.append(2.5, "a", "caveat", "roe:x", battery="b", track=3, threat="t", reason="r")
    assert e == {"seq": 1, "t_s": 2.5, "node": "a", "kind": "caveat", "rule": "roe:x", "battery": "b",
                 "track": 3, "threat": "t", "reason": "r", "prev": c.entries[0]["hash"], "hash": ref_hash(e)}
    assert c.head == e["hash"] and len(c) == 2


def test_numpy_values_tuples_sets_and_non_finite_numbers_become_json():
    c = AuditChain({"seed": np.int64(3)})
    e = c.append(np.float64(1.5), "n", "order", "", shots=np.int32(2), pk=np.float32(0.5),
                 tracks=np.array([3, 1]), pair=(1, "x"), sensors={"b", "a"}, value=float("nan"),
                 far=np.inf, ok=np.bool_(True), grid=np.array([[1.0, np.nan]]))
    assert e["t_s"] == 1.5 and type(e["t_s"]) is float
    assert e["shots"] == 2 and type(e["shots"]) is int
    assert e["pk"] == 0.5 and type(e["pk"]) is float
    assert e["tracks"] == [3, 1] and e["pair"] == [1, "x"] and e["sensors"] == ["a", "b"]
    assert e["value"] is None and e["far"] is None and e["ok"] is True and e["grid"] == [[1.0, None]]
    assert c.entries[0]["header"] == {"seed": 3}
    canonical(e)   # plain JSON, no NaN


def test_seal_refuses_further_appends_and_reserved_names():
    c = AuditChain(HEADER)
    with pytest.raises(ValueError, match="reserved"):
        c.append(1.0, "n", "order", "", hash="x")
    with pytest.raises(ValueError, match="written by the chain"):
        c.append(1.0, "n", "seal", "")
    c.append(3.0, "n", "launch", "authority:b", order="o", battery="b", shots=1)
    seal = c.seal()
    assert seal["entries"] == 2 and seal["t_s"] == 3.0 and c.sealed
    with pytest.raises(AuditError, match="after the seal"):
        c.append(4.0, "n", "launch", "authority:b", order="o", battery="b", shots=1)
    assert issubclass(AuditError, ShieldwallError)


# -------------------------------------------------------------------------------------------------
# Verification: an intact log, and each kind of tampering found at its first bad line.


def test_intact_log_verifies(tmp_path):
    chain = synthetic_chain()
    run = write_run(tmp_path, chain)
    v = verify_audit(run)
    assert isinstance(v, AuditVerdict)
    assert v.ok and v.entries == N and v.first_bad is None and v.head == chain.head
    assert v.reason == f"{run / 'audit.jsonl'}: {N} entries, chain intact (head {chain.head[:12]}…)"
    assert verify_audit(run / "audit.jsonl").ok      # the file itself is accepted too
    (run / "metrics.json").unlink()
    assert verify_audit(run).ok                      # the anchor is checked only when present


KS = [1, 2, 17, N - 1]                                # first line, second, middle, last before the seal


@pytest.mark.parametrize("k", [*KS, N])
def test_edited_entry_is_named(tmp_path, k):
    run = write_run(tmp_path)
    ls = lines(run)
    e = entry(ls[k - 1])
    e["node"] = e["node"] + "x"                       # one field changed, hash left as it was
    ls[k - 1] = line_of(e)
    put(run, ls)
    v = verify_audit(run)
    assert not v.ok and v.first_bad == k
    assert f"line {k} (seq {k - 1})" in v.reason and "edited" in v.reason


@pytest.mark.parametrize("k", [*KS, N])
def test_removed_entry_is_named_at_the_line_after_the_gap(tmp_path, k):
    run = write_run(tmp_path)
    ls = lines(run)
    del ls[k - 1]
    put(run, ls)
    v = verify_audit(run)
    assert not v.ok and v.first_bad == k
    if k < N:
        assert f"expected seq {k - 1}, found seq {k}" in v.reason and "removed" in v.reason
    else:
        assert "without the seal" in v.reason


@pytest.mark.parametrize("k", KS)
def test_swapped_entries_are_named_at_the_first(tmp_path, k):
    run = write_run(tmp_path)
    ls = lines(run)
    ls[k - 1], ls[k] = ls[k], ls[k - 1]
    put(run, ls)
    v = verify_audit(run)
    assert not v.ok and v.first_bad == k
    assert f"seq {k} comes before seq {k - 1}" in v.reason and "reordered" in v.reason


def test_truncated_log_misses_its_seal(tmp_path):
    run = write_run(tmp_path)
    put(run, lines(run)[:-3])
    v = verify_audit(run)
    assert not v.ok and v.first_bad == N - 2 and v.entries == N - 3
    assert "without the seal" in v.reason and "removed from the end" in v.reason


def test_truncated_log_with_a_forged_seal_is_caught_by_the_metrics_anchor(tmp_path):
    run = write_run(tmp_path)
    ls = lines(run)[:-3]
    last = entry(ls[-1])
    seal = rehash({"seq": last["seq"] + 1, "t_s": last["t_s"], "node": "", "kind": "seal", "rule": "",
                   "entries": last["seq"] + 1, "prev": last["hash"]})
    put(run, [*ls, line_of(seal)])
    v = verify_audit(run)
    assert not v.ok and v.first_bad == N - 2          # the forged seal
    assert f"line {N - 2}: the log has {N - 2} entries" in v.reason and f"records {N}" in v.reason
    (run / "metrics.json").unlink()
    assert verify_audit(run).ok       # without the anchor, a re-forged tail cannot be told apart


def test_metrics_head_mismatch_is_detected(tmp_path):
    run = write_run(tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["audit"]["head"] = "f" * 64
    (run / "metrics.json").write_text(json.dumps(metrics))
    v = verify_audit(run)
    assert not v.ok and v.first_bad == N and "ffffffffffff" in v.reason and "metrics.json" in v.reason


@pytest.mark.parametrize("k", KS)
def test_forged_hash_is_caught_at_the_next_line(tmp_path, k):
    run = write_run(tmp_path)
    ls = lines(run)
    e = entry(ls[k - 1])
    e["t_s"] = e["t_s"] + 1.0
    ls[k - 1] = line_of(rehash(e))
    put(run, ls)
    v = verify_audit(run)
    assert not v.ok and v.first_bad == k + 1
    assert f"line {k + 1} (seq {k})" in v.reason and f"hash of line {k}" in v.reason


def test_forged_seal_is_caught_by_the_metrics_head(tmp_path):
    run = write_run(tmp_path)
    ls = lines(run)
    e = entry(ls[-1])
    e["t_s"] += 1.0
    ls[-1] = line_of(rehash(e))
    put(run, ls)
    v = verify_audit(run)
    assert not v.ok and v.first_bad == N and "rewritten" in v.reason


def test_entry_after_the_seal_is_detected(tmp_path):
    run = write_run(tmp_path, anchor=False)
    ls = lines(run)
    seal = entry(ls[-1])
    extra = rehash({"seq": N, "t_s": 999.0, "node": "x", "kind": "launch", "rule": "", "order": "o",
                    "battery": "b", "shots": 9, "prev": seal["hash"]})
    put(run, [*ls, line_of(extra)])
    v = verify_audit(run)
    assert not v.ok and v.first_bad == N + 1 and "after the seal" in v.reason


def test_seal_with_a_wrong_count_is_detected(tmp_path):
    run = write_run(tmp_path, anchor=False)
    ls = lines(run)
    seal = entry(ls[-1])
    seal["entries"] -= 1
    ls[-1] = line_of(rehash(seal))
    put(run, ls)
    v = verify_audit(run)
    assert not v.ok and v.first_bad == N and "seal counts" in v.reason


def _manual(kinds: list[str]) -> list[bytes]:
    """A correctly hashed chain of the given kinds, built here without AuditChain."""
    out, prev = [], ZEROS
    for i, kind in enumerate(kinds):
        e = {"seq": i, "t_s": float(i), "node": "n", "kind": kind, "rule": "", "prev": prev}
        if kind == "seal":
            e["entries"] = i
        e = rehash(e)
        out.append(line_of(e))
        prev = e["hash"]
    return out


def test_header_must_be_seq_zero_and_only_there(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    put(run, _manual(["run", "order", "seal"]))
    assert verify_audit(run).ok                      # the reference builder makes valid chains
    put(run, _manual(["order", "run", "seal"]))
    v = verify_audit(run)
    assert not v.ok and v.first_bad == 1 and "run header" in v.reason
    put(run, _manual(["run", "order", "run", "seal"]))
    v = verify_audit(run)
    assert not v.ok and v.first_bad == 3 and "second run header" in v.reason


def test_spacing_changes_and_a_missing_final_newline_are_detected(tmp_path):
    run = write_run(tmp_path)
    ls = lines(run)
    ls[4] = ls[4].replace(b'","', b'", "', 1)         # same object, not the canonical bytes
    put(run, ls)
    v = verify_audit(run)
    assert not v.ok and v.first_bad == 5 and "canonical" in v.reason
    run2 = write_run(tmp_path / "b")
    (run2 / "audit.jsonl").write_bytes((run2 / "audit.jsonl").read_bytes()[:-1])
    v = verify_audit(run2)
    assert not v.ok and v.first_bad == N and "newline" in v.reason


def test_unreadable_line(tmp_path):
    run = write_run(tmp_path)
    ls = lines(run)
    ls[9] = b'{"seq": 9, oops\n'
    put(run, ls)
    with pytest.raises(AuditError, match=r"audit\.jsonl: line 10: not valid JSON") as info:
        read_audit(run / "audit.jsonl")
    assert "\n" not in str(info.value)
    v = verify_audit(run)
    assert not v.ok and v.first_bad == 10 and "line 10" in v.reason


def test_missing_run_dir_or_log_raises(tmp_path):
    with pytest.raises(AuditError, match="no such run directory"):
        verify_audit(tmp_path / "nope")
    with pytest.raises(AuditError, match="no audit.jsonl"):
        verify_audit(tmp_path)
    with pytest.raises(AuditError, match="no such file"):
        read_audit(tmp_path / "audit.jsonl")


def test_empty_log_does_not_verify(tmp_path):
    (tmp_path / "audit.jsonl").write_bytes(b"")
    v = verify_audit(tmp_path)
    assert not v.ok and v.first_bad == 1 and v.entries == 0


# -------------------------------------------------------------------------------------------------
# Properties: any one-byte change is caught at its own line; read_audit never crashes.

_SCRATCH = Path(tempfile.mkdtemp(prefix="shieldwall-audit-test-"))   # one scratch run for the properties


@pytest.fixture(scope="module", autouse=True)
def _remove_scratch():
    yield
    shutil.rmtree(_SCRATCH, ignore_errors=True)


_SMALL = synthetic_chain(filler=3)
_SMALL_BYTES = b"".join(line_of(e) for e in _SMALL.entries)
_LINE_OF_BYTE = [i + 1 for i, raw in enumerate(_SMALL_BYTES.splitlines(keepends=True)) for _ in raw]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pos=st.integers(0, len(_SMALL_BYTES) - 1), byte=st.integers(0, 255))
def test_any_single_byte_change_is_caught_at_its_line(pos, byte):
    if _SMALL_BYTES[pos] == byte:
        byte = (byte + 1) % 256
    changed = _SMALL_BYTES[:pos] + bytes([byte]) + _SMALL_BYTES[pos + 1:]
    run = _SCRATCH / "byte"
    run.mkdir(exist_ok=True)
    (run / "audit.jsonl").write_bytes(changed)
    (run / "metrics.json").write_text(json.dumps({"audit": {"entries": len(_SMALL.entries),
                                                            "head": _SMALL.head}}))
    v = verify_audit(run)          # content problems are verdicts; AuditError is for a missing log only
    assert not v.ok
    assert v.first_bad == _LINE_OF_BYTE[pos], (v, pos)
    try:
        read_audit(run / "audit.jsonl")
    except AuditError as exc:
        assert f"line {_LINE_OF_BYTE[pos]}:" in str(exc)


_json_lines = st.lists(st.one_of(
    st.binary(max_size=40),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                 max_leaves=6).map(lambda x: json.dumps(x).encode()),
), max_size=5).map(lambda parts: b"\n".join(parts))


@settings(max_examples=100, deadline=None)
@given(data=st.one_of(st.binary(max_size=200), _json_lines))
def test_read_audit_fuzz(data):
    d = _SCRATCH / "fuzz"
    d.mkdir(exist_ok=True)
    path = Path(d) / "audit.jsonl"
    path.write_bytes(data)
    try:
        out = read_audit(path)
    except AuditError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))
    else:
        assert isinstance(out, list) and all(isinstance(e, dict) for e in out)
    v = verify_audit(d)
    assert isinstance(v, AuditVerdict) and not v.ok    # no random bytes form a valid chain


_value = st.one_of(st.none(), st.booleans(), st.integers(-3, 20), st.floats(allow_nan=False, allow_infinity=False),
                   st.text(max_size=6), st.lists(st.integers(0, 5), max_size=3),
                   st.lists(st.fixed_dictionaries({}, optional={"nation": st.text(max_size=3),
                                                                "track": st.integers(0, 5),
                                                                "sensors": st.lists(st.text(max_size=3))}),
                            max_size=2))
_kinds = ["order", "release", "reduced", "withheld", "caveat", "approval_requested", "approved", "denied",
          "expired", "authority_change", "launch", "refused"]
_fields = ["order", "battery", "battery_nation", "track", "threat", "solver", "shots", "pk", "value",
           "intercept_s", "authority", "rules", "sources", "to", "tracks", "reductions", "reason",
           "decision_s", "from", "to_nation"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_kinds), st.dictionaries(st.sampled_from(_fields), _value, max_size=8),
                          st.sampled_from(["", "approval:nm-c2:decision", "sharing:a:tracks", "roe:x"])),
                max_size=8))
def test_explain_tolerates_missing_and_odd_fields(specs):
    chain = AuditChain(HEADER)
    chain.append(1.0, "alliance-bmdoc", "order", "", order="o-1", threat="t-1", track=1)
    for kind, fields, rule in specs:
        chain.append(2.0, "n", kind, rule, **fields)
    chain.seal()
    d = _SCRATCH / "explain"
    d.mkdir(exist_ok=True)
    write_audit(Path(d) / "audit.jsonl", chain)
    for subject in ("o-1", "t-1", "track:1", "track:x", "nothing-here"):
        try:
            out = explain(d, subject)
        except AuditError as exc:
            assert "\n" not in str(exc)
        else:
            assert out and all(isinstance(s, str) for s in out)


# -------------------------------------------------------------------------------------------------
# explain: one outcome in plain words.


def test_explain_an_engagement_through_national_approval(tmp_path):
    run = write_run(tmp_path)
    out = explain(run, "alliance-bmdoc-3")
    text = "\n".join(out)
    assert out[0] == "Engagement alliance-bmdoc-3 — battery nm-pac-1 (nordmark) at threat raid-north-2 (system track 7)"
    steps = out[1:]
    assert [s.split(".")[0].strip() for s in steps] == [str(i) for i in range(1, 8)]
    assert "nm-radar-1, vs-radar-2 detected it" in steps[0]
    # the latest release before the order (t=110 s), not the one after it (t=130 s)
    assert "nordmark track 4 (released to alliance-bmdoc at t=110.0 s under sharing:nordmark:tracks)" in steps[1]
    assert "vestria track 2 (reduced: sensor identity removed" in steps[1]
    assert "sharing:vestria:sensor_identity" in steps[1]
    assert "alliance-bmdoc fused them into system track 7" in steps[2]
    assert "solver fast gave battery nm-pac-1 2 shots (pk 0.80 each) against value at risk 100" in steps[3]
    assert "t=123.0 s" in steps[3] and "intercept at t=190.2 s" in steps[3]
    assert "national_approval" in steps[4] and "went to nm-c2" in steps[4]
    assert "approved it after 14.2 s (approval:nm-c2:decision)" in steps[4]
    assert "changed from delegated to national_approval" in steps[4]
    assert "defends:nm-pac-1, overflight:nordmark, roe:nordmark" in steps[5]
    assert "nm-pac-1 launched 2 interceptors at t=138.0 s" in steps[6]
    assert "Warning" not in text


def test_explain_a_threat_lists_its_orders_and_caveats(tmp_path):
    run = write_run(tmp_path)
    out = explain(run, "raid-north-2")
    text = "\n".join(out)
    assert out[0] == "Threat raid-north-2: 2 engagement orders, 1 caveat."
    assert "Engagement alliance-bmdoc-3" in text and "Engagement alliance-bmdoc-5" in text
    assert "which denied it after 4.5 s (approval:nm-c2:denial)" in text
    assert "not launched: the national approval was denied" in text
    assert "battery vs-pac-1 could not engage system track 7" in text and "overflight:vestria" in text
    assert explain(run, "track:7")[0] == "System track 7: 2 engagement orders, 1 caveat."


def test_explain_a_delegated_order_that_was_refused(tmp_path):
    run = write_run(tmp_path)
    text = "\n".join(explain(run, "alliance-bmdoc-4"))
    assert "Authority: delegated — the order went directly to vs-pac-2." in text
    assert "vs-pac-2 refused the order at t=141.0 s: no interceptor ready (roe:vestria)" in text
    assert "held it as system track 9" in text
    assert "vestria track 3 (no release recorded)" in text


def test_explain_an_expired_approval(tmp_path):
    c = AuditChain(HEADER)
    c.append(10.0, "bm", "order", "", order="bm-1", battery="b", track=1, threat="t", authority="national_approval")
    c.append(10.5, "bm", "approval_requested", "approval:c2x:deadline", order="bm-1", battery="b", decision_s=30.0)
    c.append(30.0, "c2x", "expired", "approval:c2x:deadline", order="bm-1", battery="b")
    c.seal()
    text = "\n".join(explain(write_run(tmp_path, c), "bm-1"))
    assert "went to c2x at t=10.5 s (decision due by t=30.0 s)" in text
    assert "no decision came before the deadline" in text and "approval:c2x:deadline" in text
    assert "the approval deadline passed" in text


def test_explain_unknown_subject_lists_known_ones(tmp_path):
    run = write_run(tmp_path)
    with pytest.raises(AuditError) as info:
        explain(run, "raid-south-9")
    msg = str(info.value)
    assert "\n" not in msg and "'raid-south-9'" in msg
    assert "alliance-bmdoc-3" in msg and "raid-north-2" in msg
    with pytest.raises(AuditError, match="track:N"):
        explain(run, "track:seven")


def test_explain_warns_when_the_log_does_not_verify(tmp_path):
    run = write_run(tmp_path)
    ls = lines(run)
    e = entry(ls[3])
    e["rule"] = "sharing:nordmark:everything"
    ls[3] = line_of(e)
    put(run, ls)
    out = explain(run, "alliance-bmdoc-3")
    assert out[0].startswith("Warning: this audit log does not verify") and "line 4" in out[0]


# -------------------------------------------------------------------------------------------------
# The CLI.


def invoke(*args: str):
    return CliRunner().invoke(app, ["audit", *args])


def _no_traceback(result) -> None:
    assert "Traceback" not in result.output + (result.stderr or "")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def test_cli_verify_intact(tmp_path):
    chain = synthetic_chain()
    run = write_run(tmp_path, chain)
    res = invoke(str(run), "--verify")
    assert res.exit_code == 0, res.output
    assert res.stdout == f"{run / 'audit.jsonl'}: {N} entries, chain intact (head {chain.head[:12]}…)\n"
    assert res.stderr == ""


def test_cli_verify_broken_is_one_line_exit_1(tmp_path):
    run = write_run(tmp_path)
    ls = lines(run)
    del ls[16]
    put(run, ls)
    res = invoke(str(run), "--verify")
    assert res.exit_code == 1
    assert res.stdout == ""
    assert res.stderr.count("\n") == 1 and "line 17 (seq 17): expected seq 16, found seq 17" in res.stderr
    _no_traceback(res)


def test_cli_explain_and_both(tmp_path):
    run = write_run(tmp_path)
    res = invoke(str(run), "--explain", "alliance-bmdoc-3")
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == explain(run, "alliance-bmdoc-3")
    both = invoke(str(run), "--verify", "--explain", "raid-north-2")
    assert both.exit_code == 0
    out = both.stdout.splitlines()
    assert "chain intact" in out[0] and out[1] == "Threat raid-north-2: 2 engagement orders, 1 caveat."


@pytest.mark.parametrize("args, expect", [
    ((), "give --verify, --explain SUBJECT or both"),
    (("--explain", "nobody"), "no order, threat or system track 'nobody'"),
    (("--explain", " "), "empty subject"),
])
def test_cli_usage_errors(tmp_path, args, expect):
    run = write_run(tmp_path)
    res = invoke(str(run), *args)
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and expect in res.stderr
    _no_traceback(res)


@pytest.mark.parametrize("option", [("--verify",), ("--explain", "alliance-bmdoc-3")])
def test_cli_missing_dir_is_one_line_exit_2(tmp_path, option):
    res = invoke(str(tmp_path / "no-such-run"), *option)
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and "no such run directory" in res.stderr
    _no_traceback(res)
    res = invoke(str(tmp_path), *option)                 # a directory without audit.jsonl
    assert res.exit_code == 2 and res.stderr.count("\n") == 1 and "no audit.jsonl" in res.stderr


def test_cli_corrupt_line(tmp_path):
    run = write_run(tmp_path)
    ls = lines(run)
    ls[5] = b"\xff\xfe not json\n"
    put(run, ls)
    res = invoke(str(run), "--explain", "alliance-bmdoc-3")
    assert res.exit_code == 2 and res.stderr.count("\n") == 1 and "line 6: not UTF-8" in res.stderr
    _no_traceback(res)
    res = invoke(str(run), "--verify")
    assert res.exit_code == 1 and res.stderr.count("\n") == 1 and "line 6" in res.stderr
    _no_traceback(res)


def test_cli_help():
    res = invoke("--help")
    assert res.exit_code == 0 and "--verify" in res.stdout and "--explain" in res.stdout
