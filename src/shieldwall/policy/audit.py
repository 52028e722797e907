"""The tamper-evident audit log: every decision a national policy rule touched, hash-chained.

A run writes ``RUN_DIR/audit.jsonl``, one JSON object per line, in the canonical form

    canonical_json(x) = json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                   allow_nan=False)

encoded as UTF-8, each line ended by ``"\\n"``. Every entry has the fields ``seq`` (0, 1, 2, … in
file order), ``t_s`` (simulation time in seconds), ``node`` (the node that decided), ``kind``,
``rule`` (the rule id that decided, ``""`` when none), the kind's own fields, ``prev`` and ``hash``:

    hash = sha256((prev + canonical_json(entry without "hash")).encode("utf-8")).hexdigest()

``prev`` is the previous entry's ``hash`` (64 zeros for the first entry). The first entry (seq 0) is
the header, kind ``"run"``, with the run's identity under ``"header"`` (e.g. scenario, scenario_sha256,
seed, shieldwall version); the last is the seal, kind ``"seal"``, whose ``"entries"`` counts the
entries before it. ``metrics.json`` anchors the chain with ``"audit": {"entries": N, "head": HASH}``
(N counts every line, header and seal included; HASH is the seal's hash).

Editing, removing, reordering or appending entries breaks the chain at the first changed line, and
:func:`verify_audit` names it. Anyone can recompute hashes (there is no secret), so an edit followed by
re-hashing everything after it is caught only by the head recorded in ``metrics.json`` (or anywhere
else the head was published).

Entry kinds the simulation writes (besides the fields every entry has):

- ``release`` / ``reduced`` / ``withheld``: message, info, to, to_nation, tracks, sensors (and
  reductions, for reduced);
- ``order``: order, battery, battery_nation, track (the planning node's system track), threat, solver,
  shots, pk, value, intercept_s, launch_s, authority, rules (rule ids checked and passed), sources
  (``[{"nation", "track", "sensors"}]``: the national tracks fused into the system track);
- ``caveat``: battery, track, threat, reason (a rule excluded that battery-track pair);
- ``approval_requested``: order, battery, decision_s (the time by which the decision is due);
  ``approved`` / ``denied`` / ``expired``: order, battery;
- ``authority_change``: battery, from, to; ``launch``: order, battery, shots; ``refused``: order,
  battery, reason.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shieldwall.errors import ShieldwallError

AUDIT_FILE = "audit.jsonl"
METRICS_FILE = "metrics.json"
GENESIS = "0" * 64
#: Fields every entry has; a kind's own fields may not reuse them.
RESERVED = ("seq", "t_s", "node", "kind", "rule", "prev", "hash")
#: Kinds only the chain itself writes.
CHAIN_KINDS = ("run", "seal")


class AuditError(ShieldwallError):
    """An audit log that cannot be read, or a subject that is not in it; the message is one line."""


def canonical_json(obj: Any) -> str:
    """``obj`` in the one canonical JSON form the log is hashed and written in."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entry_hash(entry: Mapping[str, Any]) -> str:
    """The hash an entry must carry: sha256 (hex) of its ``prev`` followed by the canonical JSON of the
    entry without ``hash``."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    prev = entry.get("prev")
    return hashlib.sha256((str(prev) + canonical_json(body)).encode("utf-8")).hexdigest()


def _jsonable(value: Any, where: str) -> Any:
    """``value`` as plain JSON types: numpy scalars and arrays, tuples and sets (sorted) become
    numbers and lists, NaN and infinities become None."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        items = [_jsonable(v, where) for v in value]
        return sorted(items, key=lambda v: (type(v).__name__, canonical_json(v)))
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, Path):
        return str(value)
    tolist = getattr(value, "tolist", None)   # numpy scalars and arrays
    if callable(tolist) and hasattr(value, "dtype"):
        return _jsonable(tolist(), where)
    raise TypeError(f"audit entry field {where}: {type(value).__name__} is not JSON data "
                    "(expected numbers, strings, booleans, None, lists or dicts)")


class AuditChain:
    """An in-memory, append-only hash chain of audit entries (pure: no files, no clock).

    ``AuditChain(header)`` starts with entry seq 0 of kind ``"run"``: ``{"seq": 0, "t_s": 0.0,
    "node": "", "kind": "run", "rule": "", "header": header, "prev": 64 zeros, "hash": …}``.
    :meth:`append` adds decisions, :meth:`seal` ends the chain.
    """

    def __init__(self, header: Mapping[str, Any]):
        self._entries: list[dict] = []
        self._sealed = False
        self._add({"t_s": 0.0, "node": "", "kind": "run", "rule": "", "header": _jsonable(dict(header), "header")})

    def _add(self, body: dict) -> dict:
        entry = {"seq": len(self._entries), **body, "prev": self.head}
        entry["hash"] = entry_hash(entry)
        self._entries.append(entry)
        return entry

    def append(self, t_s: float, node: str, kind: str, rule: str, **fields: Any) -> dict:
        """Add ``{"seq", "t_s", "node", "kind", "rule", **fields, "prev", "hash"}`` and return it.

        Field values are converted to JSON types (numpy values, tuples, sets sorted, NaN/inf → None).
        Raises :class:`AuditError` once the chain is sealed, ValueError for a reserved field or kind.
        """
        if self._sealed:
            raise AuditError(f"audit chain: cannot append a {kind!r} entry after the seal "
                             "(expected every entry before seal())")
        if kind in CHAIN_KINDS:
            raise ValueError(f"audit chain: kind {kind!r} is written by the chain itself "
                             "(expected a decision kind such as 'order' or 'release')")
        clash = sorted(set(fields) & set(RESERVED))
        if clash:
            raise ValueError(f"audit chain: field {clash[0]!r} is reserved (expected other names than "
                             f"{', '.join(RESERVED)})")
        t = _jsonable(t_s, "t_s")
        if not isinstance(t, (int, float)) or isinstance(t, bool):
            raise ValueError(f"audit chain: t_s {t_s!r} (expected a finite time in seconds)")
        body = {"t_s": float(t), "node": str(node), "kind": str(kind), "rule": str(rule)}
        body.update({k: _jsonable(v, k) for k, v in fields.items()})
        return self._add(body)

    def seal(self, t_s: float | None = None) -> dict:
        """Append the final entry, kind ``"seal"`` with ``"entries"`` = the number of entries before
        it, at ``t_s`` (default: the latest time in the chain); the chain then refuses appends."""
        if self._sealed:
            raise AuditError("audit chain: already sealed (expected one seal() per run)")
        if t_s is None:
            t_s = max((e["t_s"] for e in self._entries if isinstance(e["t_s"], (int, float))), default=0.0)
        entry = self._add({"t_s": float(t_s), "node": "", "kind": "seal", "rule": "",
                           "entries": len(self._entries)})
        self._sealed = True
        return entry

    @property
    def entries(self) -> list[dict]:
        """The entries so far, in order (a new list; do not edit the dicts)."""
        return list(self._entries)

    @property
    def head(self) -> str:
        """The hash of the last entry (64 zeros before the first)."""
        return self._entries[-1]["hash"] if self._entries else GENESIS

    @property
    def sealed(self) -> bool:
        return self._sealed

    def __len__(self) -> int:
        return len(self._entries)


def write_audit(path: str | Path, chain: AuditChain | Iterable[Mapping[str, Any]]) -> Path:
    """Write the chain's entries to ``path`` as JSON lines (canonical JSON, UTF-8, ``"\\n"`` after each
    line) and return the path. Seal the chain first: an unsealed log does not verify."""
    path = Path(path)
    entries = chain.entries if isinstance(chain, AuditChain) else list(chain)
    text = "".join(canonical_json(dict(e)) + "\n" for e in entries)
    path.write_bytes(text.encode("utf-8"))
    return path


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false",
               type(None): "null"}


def _parse_lines(raw: bytes) -> tuple[list[tuple[bytes, dict]], tuple[int, str] | None]:
    """The lines of ``raw`` with their objects, up to the first bad line, and (line number, what is
    wrong with it) for that line."""
    parts = raw.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()                      # the newline that ends the last line
    parsed: list[tuple[bytes, dict]] = []
    for number, line in enumerate(parts, start=1):
        if not line.strip():
            return parsed, (number, "an empty line")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return parsed, (number, f"not UTF-8 text (byte {exc.start + 1} of the line)")
        try:
            obj = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return parsed, (number, f"not valid JSON ({_clip(message)})")
        if not isinstance(obj, dict):
            return parsed, (number, f"{_JSON_TYPES.get(type(obj), 'a JSON value')}, not a JSON object")
        parsed.append((line, obj))
    return parsed, None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise AuditError(f"{path}: no such file (expected the audit.jsonl that shieldwall run writes)") from None
    except IsADirectoryError:
        raise AuditError(f"{path}: is a directory (expected the audit.jsonl file)") from None
    except OSError as exc:
        raise AuditError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_audit(path: str | Path) -> list[dict]:
    """The entries of an audit log, in file order (no chain checks: see :func:`verify_audit`).

    Raises :class:`AuditError` (one line, ``FILE: line K: what is wrong``, with ``.line`` = K) for a
    missing or unreadable file, or a line that is empty, not UTF-8, not JSON or not a JSON object.
    """
    path = Path(path)
    parsed, error = _parse_lines(_read_bytes(path))
    if error is not None:
        line, what = error
        exc = AuditError(f"{path}: line {line}: {what} (expected one JSON object per line)")
        exc.line = line
        raise exc
    return [obj for _, obj in parsed]


@dataclass(frozen=True, slots=True)
class AuditVerdict:
    """The result of :func:`verify_audit`.

    ``entries``: lines read; ``first_bad``: 1-based line number of the first bad line (one past the
    last line when entries are missing from the end; None when intact or when the problem is in
    metrics.json itself); ``reason``: one plain line (when ok: ``FILE: N entries, chain intact (head
    …)``); ``head``: the hash of the last line read.
    """

    ok: bool
    entries: int
    first_bad: int | None
    reason: str
    head: str = ""

    def __str__(self) -> str:
        return self.reason


def _audit_path(run_dir: str | Path) -> tuple[Path, Path]:
    """(audit.jsonl, metrics.json) of a run directory (or of the directory holding a given .jsonl)."""
    run_dir = Path(run_dir)
    if run_dir.is_file() and run_dir.suffix == ".jsonl":
        return run_dir, run_dir.parent / METRICS_FILE
    if not run_dir.exists():
        raise AuditError(f"{run_dir}: no such run directory (expected the --out directory of shieldwall run)")
    if not run_dir.is_dir():
        raise AuditError(f"{run_dir}: not a directory (expected a run directory holding {AUDIT_FILE})")
    path = run_dir / AUDIT_FILE
    if not path.is_file():
        raise AuditError(f"{run_dir}: no {AUDIT_FILE} in this directory (expected a run directory "
                         "written by shieldwall run)")
    return path, run_dir / METRICS_FILE


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _short(h: Any) -> str:
    return f"{str(h)[:12]}…"


def verify_audit(run_dir: str | Path) -> AuditVerdict:
    """Check the hash chain of ``RUN_DIR/audit.jsonl`` line by line and report the first bad line.

    Finds an edited entry (content does not match its hash), a removed entry (seq gap), reordered
    entries, an edited-and-re-hashed entry (the next line's prev does not match), a missing header or
    seal, entries after the seal, lines not in canonical form, unreadable lines, and, when
    ``metrics.json`` has ``"audit": {"entries", "head"}``, a log whose length or head differ from it.
    Raises :class:`AuditError` only when the run directory or its audit.jsonl is missing or unreadable.
    """
    path, metrics_path = _audit_path(run_dir)
    name = str(path)
    data = _read_bytes(path)
    parsed, error = _parse_lines(data)
    n = len(parsed) + (error is not None)

    def bad(line: int, what: str, seq: Any = None) -> AuditVerdict:
        where = f"{name} line {line}" + (f" (seq {seq})" if _is_int(seq) else "")
        head = parsed[-1][1].get("hash", "") if parsed else ""
        return AuditVerdict(False, n, line, f"{where}: {what}", str(head))

    seqs = [obj.get("seq") for _, obj in parsed]
    prev_hash = GENESIS
    sealed_at: int | None = None
    for number, (raw, e) in enumerate(parsed, start=1):
        seq = e.get("seq")
        if sealed_at is not None:
            return bad(number, f"an entry after the seal on line {sealed_at} (appended after the run was sealed)", seq)
        try:
            canonical = canonical_json(e).encode("utf-8") == raw
        except ValueError:
            canonical = False
        missing = [k for k in ("seq", "kind", "prev", "hash") if k not in e]
        if missing:
            return bad(number, f"no {missing[0]!r} field (expected seq, t_s, node, kind, rule, prev and hash; "
                               "the entry was edited)", seq)
        if not _is_int(seq) or not isinstance(e["kind"], str) or not isinstance(e["hash"], str):
            return bad(number, "seq, kind or hash of the wrong type (the entry was edited)", seq)
        if e["hash"] != entry_hash(e):
            return bad(number, "content does not match its hash (the entry was edited)", seq)
        if not canonical:
            return bad(number, "not written in the canonical form (spacing or key order changed: the line "
                               "was edited)", seq)
        expected = number - 1
        if seq != expected:
            if seq < expected:
                why = "entries reordered" if seq >= 0 else "the entry was renumbered"
                return bad(number, f"expected seq {expected}, found seq {seq} ({why})", seq)
            if expected in seqs[number:]:
                return bad(number, f"seq {seq} comes before seq {expected} (entries reordered)", seq)
            return bad(number, f"expected seq {expected}, found seq {seq} (an entry before it was removed)", seq)
        if e["prev"] != prev_hash:
            what = ("its prev is not the 64 zeros that start a chain" if number == 1 else
                    f"its prev does not match the hash of line {number - 1} (the entry before it was "
                    "changed and its hash rewritten)")
            return bad(number, what, seq)
        if number == 1 and e["kind"] != "run":
            return bad(number, f"the first entry is kind {e['kind']!r}, not the run header (expected "
                               "kind 'run' at seq 0)", seq)
        if number > 1 and e["kind"] == "run":
            return bad(number, "a second run header (expected the header at seq 0 only)", seq)
        if e["kind"] == "seal":
            if e.get("entries") != seq:
                return bad(number, f"the seal counts {e.get('entries')} entries before it, but {seq} precede "
                                   "it (entries were removed or added)", seq)
            sealed_at = number
        prev_hash = e["hash"]

    if error is not None:
        line, what = error
        if sealed_at is not None:
            return bad(line, f"{what} after the seal on line {sealed_at} (appended after the run was sealed)")
        return bad(line, f"{what} (the line was edited or cut)")
    if not parsed:
        return AuditVerdict(False, 0, 1, f"{name}: empty (expected the run header on line 1)", "")
    if sealed_at is None:
        last = parsed[-1][1]
        return AuditVerdict(False, n, n + 1, f"{name}: ends at line {n} (seq {last['seq']}) without the seal "
                                              "entry (entries were removed from the end, or the run did "
                                              "not finish)", str(last["hash"]))
    if not data.endswith(b"\n"):
        return bad(n, "the last line has no newline at its end (the file was cut or edited)")

    head = parsed[-1][1]["hash"]
    if metrics_path.is_file():
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            reason = f"{metrics_path}: cannot be read as JSON ({_clip(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)})"
            return AuditVerdict(False, n, None, reason, head)
        anchor = metrics.get("audit") if isinstance(metrics, dict) else None
        if anchor is not None:
            recorded_n = anchor.get("entries") if isinstance(anchor, dict) else None
            recorded_head = anchor.get("head") if isinstance(anchor, dict) else None
            if not _is_int(recorded_n) or not isinstance(recorded_head, str):
                return AuditVerdict(False, n, None, f"{metrics_path}: 'audit' is not {{\"entries\": N, \"head\": "
                                                    "HASH}} (the file was edited)", head)
            if recorded_n != n:
                # The run's seal was on line recorded_n; the line that now ends the log, or holds that
                # place, cannot be it.
                line = min(n, recorded_n)
                more = "removed from the end" if recorded_n > n else "added"
                return AuditVerdict(False, n, line, f"{name} line {line}: the log has {n} entries, but "
                                                    f"{metrics_path} records {recorded_n} (entries were {more} "
                                                    "and the seal rewritten)", head)
            if recorded_head != head:
                return AuditVerdict(False, n, n, f"{name} line {n}: head {_short(head)} differs from the "
                                                 f"head {_short(recorded_head)} that {metrics_path} records "
                                                 "(the log was rewritten after the run)", head)
    return AuditVerdict(True, n, None, f"{name}: {n:,} entries, chain intact (head {_short(head)})", head)


# -------------------------------------------------------------------------------------------------
# explain: one outcome in plain words.


def _num(x: Any, fmt: str = ".1f") -> str:
    return format(x, fmt) if isinstance(x, (int, float)) and not isinstance(x, bool) else "?"


def _at(x: Any) -> str:
    return f"t={_num(x)} s"


def _plural(k: Any, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _release_nation(e: Mapping[str, Any]) -> str | None:
    """The nation whose data a release entry carried: from_nation, else nation, else the rule
    ``sharing:NATION:…``."""
    for key in ("from_nation", "nation"):
        if isinstance(e.get(key), str) and e[key]:
            return e[key]
    rule = e.get("rule")
    if isinstance(rule, str) and rule.startswith("sharing:"):
        parts = rule.split(":")
        return parts[1] if len(parts) > 1 else None
    return None


def _release_for(entries: list[dict], upto: int, nation: Any, track: Any, node: Any) -> dict | None:
    """The most recent release or reduction before ``entries[upto]`` that carried ``nation``'s
    ``track`` to ``node`` (None if there is none)."""
    for e in reversed(entries[:upto]):
        if e.get("kind") not in ("release", "reduced"):
            continue
        tracks = e.get("tracks")
        if not isinstance(tracks, list) or track not in tracks:
            continue
        carrier = _release_nation(e)
        if carrier is not None and nation is not None and carrier != nation:
            continue
        if e.get("to") == node:
            return e
    return None


def _list(x: Any) -> list:
    """``x`` if it is a list, else an empty list (explain tolerates missing or odd fields)."""
    return x if isinstance(x, list) else []


def _sentence_list(items: list[str]) -> str:
    return ", ".join(items) if items else "none recorded"


def _explain_order(entries: list[dict], i: int) -> list[str]:
    o = entries[i]
    order, battery, node = o.get("order", "?"), o.get("battery", "?"), o.get("node", "?")
    track, threat = o.get("track"), o.get("threat") or ""
    nation = f" ({o['battery_nation']})" if o.get("battery_nation") else ""
    target = f"threat {threat} (system track {track})" if threat else f"system track {track} (threat not identified)"
    lines = [f"Engagement {order} — battery {battery}{nation} at {target}"]
    steps: list[str] = []

    sources = [s for s in _list(o.get("sources")) if isinstance(s, dict)]
    sensors: list[str] = []
    for s in sources:
        for name in _list(s.get("sensors")):
            if str(name) not in sensors:
                sensors.append(str(name))
    steps.append(f"Sensors: {', '.join(sensors)} detected it." if sensors else "Sensors: none recorded.")

    described = []
    for s in sources:
        r = _release_for(entries, i, s.get("nation"), s.get("track"), node)
        what = f"{s.get('nation', '?')} track {s.get('track', '?')}"
        if s.get("nation") and s.get("nation") == o.get("planner_nation"):
            described.append(f"{what} (the planning node's own track)")
        elif r is None:
            described.append(f"{what} (no release recorded)")
        elif r.get("kind") == "reduced":
            cut = ", ".join(str(x) for x in _list(r.get("reductions"))) or "reduced"
            described.append(f"{what} (reduced: {cut}, sent to {r.get('to', '?')} at {_at(r.get('t_s'))} "
                             f"under {r.get('rule') or 'no rule'})")
        else:
            described.append(f"{what} (released to {r.get('to', '?')} at {_at(r.get('t_s'))} under "
                             f"{r.get('rule') or 'no rule'})")
    steps.append(f"Tracks: {'; '.join(described)}." if described else "Tracks: no national tracks recorded.")
    if len(sources) > 1:
        steps.append(f"Fusion: {node} fused them into system track {track}.")
    elif sources:
        steps.append(f"Fusion: {node} held it as system track {track}.")
    else:
        steps.append(f"Fusion: {node} planned against system track {track}.")

    shots = o.get("shots")
    each = "" if shots == 1 else " each"
    pk = f" (pk {_num(o.get('pk'), '.2f')}{each})" if o.get("pk") is not None else ""
    value = f" against value at risk {_num(o.get('value'), 'g')}" if o.get("value") is not None else ""
    intercept = f", intercept at {_at(o.get('intercept_s'))}" if o.get("intercept_s") is not None else ""
    steps.append(f"Assignment at {_at(o.get('t_s'))}: solver {o.get('solver', '?')} gave battery {battery} "
                 f"{_plural(shots if shots is not None else '?', 'shot')}{pk}{value}{intercept}.")

    later = [e for e in entries[i + 1:] if e.get("order") == order]
    by_kind: dict[str, dict] = {}
    for e in later:
        by_kind.setdefault(str(e.get("kind")), e)
    authority = o.get("authority") or "not recorded"
    change = next((e for e in reversed(entries[:i]) if e.get("kind") == "authority_change"
                   and e.get("battery") == battery), None)
    changed = (f" (changed from {change.get('from', '?')} to {change.get('to', '?')} at {_at(change.get('t_s'))} "
               f"under {change.get('rule') or 'no rule'})" if change else "")
    requested = by_kind.get("approval_requested")
    decision = next((e for e in later if e.get("kind") in ("approved", "denied", "expired")), None)
    if requested or decision:
        rule = str((decision or requested).get("rule") or "")
        approver = (rule.split(":")[1] if rule.startswith("approval:")
                    else (decision or requested).get("node", "?"))
        text = f"Authority: {authority}{changed} — the order went to {approver}"
        if requested:
            due = requested.get("decision_s")
            text += f" at {_at(requested.get('t_s'))}" + (f" (decision due by {_at(due)})" if due is not None else "")
        if decision is None:
            text += "; no decision is recorded."
        else:
            k = decision.get("kind")
            after = ""
            if requested and isinstance(requested.get("t_s"), (int, float)) and isinstance(decision.get("t_s"), (int, float)):
                after = f" after {_num(decision['t_s'] - requested['t_s'])} s"
            verb = {"approved": f", which approved it{after}", "denied": f", which denied it{after}",
                    "expired": f"; no decision came before the deadline ({_at(decision.get('t_s'))})"}[k]
            text += f"{verb} ({decision.get('rule') or 'no rule'})."
        steps.append(text)
    elif authority == "delegated":
        steps.append(f"Authority: delegated{changed} — the order went directly to {battery}.")
    else:
        steps.append(f"Authority: {authority}{changed}.")

    rules = [str(r) for r in _list(o.get("rules"))]
    steps.append(f"Allowed by: {_sentence_list(rules)}.")

    launch, refused = by_kind.get("launch"), by_kind.get("refused")
    if launch:
        k = launch.get("shots", shots)
        outcome = f"{launch.get('battery', battery)} launched {_plural(k, 'interceptor')} at {_at(launch.get('t_s'))}."
    elif refused:
        outcome = (f"{refused.get('battery', battery)} refused the order at {_at(refused.get('t_s'))}: "
                   f"{refused.get('reason', 'no reason recorded')} ({refused.get('rule') or 'no rule'}).")
    elif decision is not None and decision.get("kind") == "denied":
        outcome = "not launched: the national approval was denied."
    elif decision is not None and decision.get("kind") == "expired":
        outcome = "not launched: the approval deadline passed without a decision."
    else:
        outcome = "no launch is recorded."
    steps.append(f"Outcome: {outcome}")
    lines += [f"{n:2d}. {s}" for n, s in enumerate(steps, start=1)]
    return lines


def _caveat_lines(caveats: list[dict]) -> list[str]:
    lines = []
    for c in caveats:
        lines.append(f" - {_at(c.get('t_s'))}: battery {c.get('battery', '?')} could not engage system track "
                     f"{c.get('track', '?')}: {c.get('reason', 'no reason recorded')} ({c.get('rule') or 'no rule'}).")
    return lines


def explain(run_dir: str | Path, subject: str) -> list[str]:
    """Plain-language lines explaining one outcome of a run, from its audit log.

    ``subject`` is an order id (e.g. ``alliance-bmdoc-3``), a threat id (as in the entries' ``threat``
    field), or ``track:N`` (a system track of the planning node). Each engagement order is told in
    numbered steps: sensors, national tracks and the releases that carried them, fusion, assignment,
    authority path, the rules that allowed it, and the outcome; caveats that excluded batteries from a
    threat or track follow. A first line warns when the log does not verify. Raises
    :class:`AuditError` for an unknown subject (naming a few known ones) or an unreadable log.
    """
    path, _ = _audit_path(run_dir)
    entries = read_audit(path)
    subject = subject.strip()
    orders = [i for i, e in enumerate(entries) if e.get("kind") == "order"]
    chosen = [i for i in orders if entries[i].get("order") == subject]
    caveats: list[dict] = []
    title = None
    if not chosen and subject.startswith("track:"):
        try:
            number = int(subject.split(":", 1)[1])
        except ValueError:
            raise AuditError(f"{path}: subject {subject!r} (expected track:N with N an integer)") from None
        chosen = [i for i in orders if _is_int(entries[i].get("track")) and entries[i]["track"] == number]
        caveats = [e for e in entries if e.get("kind") == "caveat" and _is_int(e.get("track")) and e["track"] == number]
        title = f"System track {number}"
    elif not chosen:
        chosen = [i for i in orders if entries[i].get("threat") == subject]
        caveats = [e for e in entries if e.get("kind") == "caveat" and e.get("threat") == subject]
        title = f"Threat {subject}"
    if not chosen and not caveats:
        known_orders = list(dict.fromkeys(str(entries[i].get("order")) for i in orders))
        known_threats = list(dict.fromkeys(str(e["threat"]) for e in entries
                                           if e.get("kind") in ("order", "caveat") and e.get("threat")))

        def few(items: list[str]) -> str:
            return (", ".join(items[:5]) + (", …" if len(items) > 5 else "")) if items else "none"

        raise AuditError(f"{path}: no order, threat or system track {subject!r} in the audit log (expected an "
                         f"order id such as {few(known_orders)}; a threat such as {few(known_threats)}; or "
                         "track:N)")

    lines: list[str] = []
    verdict = verify_audit(run_dir)
    if not verdict.ok:
        lines.append(f"Warning: this audit log does not verify, so this account may be false: {verdict.reason}")
    if title is not None:
        lines.append(f"{title}: {_plural(len(chosen), 'engagement order')}"
                     + (f", {_plural(len(caveats), 'caveat')}" if caveats else "") + ".")
    for i in chosen:
        if lines:
            lines.append("")
        lines += _explain_order(entries, i)
    if caveats:
        lines += ["", "Caveats that excluded a battery:", *_caveat_lines(caveats)]
    return lines
