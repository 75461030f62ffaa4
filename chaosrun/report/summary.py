"""A machine summary of a run, derived from its journal (pure)."""

from __future__ import annotations

from typing import Any

from chaosrun.checks.outcome import (
    activity_error,
    facts_from_journal,
    judge_run,
    probe_miss,
    tolerance_text,
)

__all__ = ["brief_output", "probe_results", "summarise_run"]


def brief_output(output: Any) -> Any:
    if isinstance(output, dict):
        keys = (
            "availability",
            "p50_ms",
            "p99_ms",
            "requests",
            "errors",
            "toxic_count",
            "enabled",
            "status",
            "proxy",
            "toxic",
            "removed",
        )
        picked = {k: output[k] for k in keys if k in output}
        return picked or {k: output[k] for k in list(output)[:6]}
    return output


def probe_results(journal: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    states = journal.get("steady_states") or {}
    for phase in ("before", "after"):
        state = states.get(phase) or {}
        for run in state.get("probes") or []:
            activity = run.get("activity") or {}
            met = run.get("tolerance_met")
            rows.append(
                {
                    "phase": phase,
                    "name": activity.get("name"),
                    "status": run.get("status"),
                    "tolerance_met": met,
                    "tolerance": tolerance_text(activity.get("tolerance")),
                    "output": brief_output(run.get("output")),
                    "error": activity_error(run.get("exception")),
                    "miss": probe_miss(run) if met is False else None,
                }
            )
    return rows


def _activities(runs: list[dict[str, Any]] | None, phase: str) -> list[dict[str, Any]]:
    rows = []
    for run in runs or []:
        activity = run.get("activity") or {}
        rows.append(
            {
                "phase": phase,
                "name": activity.get("name"),
                "type": activity.get("type"),
                "status": run.get("status"),
                "duration_s": round(float(run.get("duration") or 0.0), 3),
                "output": brief_output(run.get("output")),
                "error": activity_error(run.get("exception")),
            }
        )
    return rows


def summarise_run(journal: dict[str, Any], exit_code: int, journal_path: str) -> dict[str, Any]:
    """`exit_code` is the one the CLI returns (the verdict's, see `chaosrun.checks.outcome`)."""
    status = str(journal.get("status"))
    deviated = bool(journal.get("deviated"))
    chaosrun = journal.get("chaosrun") or {}
    states = journal.get("steady_states") or {}
    checks_failed = int(chaosrun.get("checks_failed") or 0)
    outcome = chaosrun.get("outcome") or judge_run(facts_from_journal(journal)).to_dict()
    return {
        "title": (journal.get("experiment") or {}).get("title"),
        "status": status,
        "deviated": deviated,
        "verdict": outcome["verdict"],
        "checks": chaosrun.get("verdicts") or [],
        "checks_failed": checks_failed,
        "checks_not_judged": int(chaosrun.get("checks_not_judged") or 0),
        "recovery": _recovery_brief(chaosrun.get("recovery")),
        "rto_objective_s": chaosrun.get("rto_objective_s"),
        "writes": chaosrun.get("writes") or [],
        "load": _load_brief(chaosrun.get("load")),
        "measurement_trusted": chaosrun.get("measurement_trusted"),
        "measurement_notes": chaosrun.get("measurement_notes") or [],
        "exit_code": exit_code,
        "reason": outcome["cause"],
        "steady_state": {
            phase: (states.get(phase) or {}).get("steady_state_met")
            for phase in ("before", "after")
        },
        "probes": probe_results(journal),
        "activities": _activities(journal.get("run"), "method")
        + _activities(journal.get("rollbacks"), "rollback"),
        "leftovers_reverted": sum(
            1 for u in chaosrun.get("undo") or [] if u.get("reverted_by_supervisor")
        ),
        "undo_errors": [u["error"] for u in chaosrun.get("undo") or [] if u.get("error")],
        "safeguard": chaosrun.get("safeguard"),
        "restore": chaosrun.get("restore"),
        "faults": chaosrun.get("faults"),
        "target": chaosrun.get("target"),
        "duration_s": journal.get("duration"),
        "journal": journal_path,
        "run_dir": chaosrun.get("run_dir"),
    }


def _recovery_brief(recovery: Any) -> dict[str, Any] | None:
    if not isinstance(recovery, dict):
        return None
    keys = (
        "state",
        "ttd_s",
        "rto_s",
        "recovery_after_clear_s",
        "failed_requests",
        "degraded_requests",
        "requests",
        "resolution_s",
    )
    brief = {k: recovery.get(k) for k in keys}
    budget = recovery.get("error_budget") or {}
    brief["error_budget_burned"] = budget.get("burned")
    impact = recovery.get("impact") or {}
    brief["impact_s"] = impact.get("duration_s")
    return brief


def _load_brief(load: Any) -> dict[str, Any] | None:
    if not isinstance(load, dict):
        return None
    keys = (
        "target_rate",
        "achieved_rate",
        "sent",
        "completed",
        "max_lag_ms",
        "p99_lag_ms",
        "short",
        "short_reason",
    )
    return {k: load.get(k) for k in keys if k in load}
