"""``shieldwall audit``: verify a run's audit log and explain its decisions (registered in
:mod:`shieldwall.cli`)."""

from __future__ import annotations

from pathlib import Path

import typer

from shieldwall.policy.audit import AuditError, explain, verify_audit

AUDIT_HELP = r"""Check a run's audit log and explain its decisions. Every decision a national policy rule
touched (a track released, reduced or withheld; an engagement order; an approval, denial or expiry; a
caveat that kept a battery off a threat; an authority change; a launch) is a line of
RUN_DIR/audit.jsonl, hash-chained to the line before it.

[bold]--verify[/bold] recomputes the chain and prints [bold]FILE: N entries, chain intact (head …)[/bold],
exit 0; or one line naming the first bad line and what happened to it (edited, removed, reordered,
appended after the seal, cut off at the end, or not matching the head that metrics.json records),
exit 1.

[bold]--explain SUBJECT[/bold] tells one outcome in numbered steps: which sensors saw it, the national
tracks and the sharing rules that released them, the fused system track, the assignment, the
authority path (delegated, or national approval with its decision), the rules that allowed it and
the outcome. SUBJECT is an order id (alliance-bmdoc-3), a threat (raid-north-2) or track:N (a
system track of the planning node).

[bold]Examples[/bold]

  shieldwall audit runs/demo --verify
  shieldwall audit runs/demo --explain raid-north-2

A missing run directory or audit log, an unreadable line under --explain, or an unknown subject
prints one line and exits 2.
"""


def _echo_err(text: str) -> None:
    typer.echo(text, err=True)


def audit(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", show_default=False,
                                   help="Run directory written by shieldwall run (holding audit.jsonl)."),
    verify: bool = typer.Option(False, "--verify", help="Recompute the hash chain; exit 1 if it is broken."),
    subject: str | None = typer.Option(None, "--explain", metavar="SUBJECT", show_default=False,
                                       help="Explain an order id, a threat, or track:N in numbered steps."),
) -> None:
    """Verify and explain a run's audit log (the help text is :data:`AUDIT_HELP`)."""
    if not verify and subject is None:
        _echo_err("audit: give --verify, --explain SUBJECT or both (expected e.g. "
                  "shieldwall audit runs/demo --verify)")
        raise typer.Exit(2)
    if subject is not None and not subject.strip():
        _echo_err("audit: --explain: empty subject (expected an order id, a threat or track:N)")
        raise typer.Exit(2)
    status = 0
    try:
        if verify:
            verdict = verify_audit(run_dir)
            if verdict.ok:
                typer.echo(verdict.reason)
            else:
                _echo_err(verdict.reason)
                status = 1
        if subject is not None:
            for line in explain(run_dir, subject):
                typer.echo(line)
    except AuditError as exc:
        for line in str(exc).splitlines() or ["audit: error"]:
            _echo_err(line)
        raise typer.Exit(2) from None
    raise typer.Exit(status)
