"""What `chaosrun validate` accepts runs to a verdict, never to a traceback (Hypothesis).

Variations of the shipped experiments (experiments/*.yaml and some of tests/e2e/experiments):
activities dropped, duplicated or swapped; arguments given other types or out-of-range values;
proxy names misspelled; tolerance targets removed; `${name}` templates added (declared or not);
pause lengths changed. Each variation that validates is run for real on the lab, with the load
tiny and the deadline short, and must end with an exit code chaosrun chose (0, 1, 2 or 4), no
traceback on the console nor in the run's worker.out and worker.log, and no fault left on the
lab. About 10 variations, 60-90 s.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaosrun.lab.toxiproxy import ToxiproxyClient

from .conftest import REPO, is_clean, run_cli

BASES = sorted((REPO / "experiments").glob("*.yaml")) + [
    REPO / "tests" / "e2e" / "experiments" / name
    for name in ("method-fails.yaml", "not-steady-404.yaml", "probe-only.yaml")
]
EXIT_CODES = {0, 1, 2, 4}
_SECTIONS = ("method", "rollbacks")


def _tiny(doc: dict[str, Any]) -> dict[str, Any]:
    """The experiment on the running healthy lab, with a tiny load and a short deadline."""
    for ext in doc.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == "chaosrun":
            ext["target"] = {"lab": {"variant": "healthy"}}
            ext["deadline_s"] = 10
            if "load" in ext:
                ext["load"].update(rate=5, warmup_s=0.5, cooldown_s=0.5)
    for activity in _activities(doc):
        pauses = activity.get("pauses")
        if isinstance(pauses, dict):
            for key, value in pauses.items():
                if isinstance(value, int | float):
                    pauses[key] = min(value, 1)
        arguments = (activity.get("provider") or {}).get("arguments")
        if isinstance(arguments, dict) and "requests" in arguments:
            arguments.update(requests=5, duration_s=0)
    return doc


def _activities(doc: dict[str, Any]) -> list[dict[str, Any]]:
    probes = (doc.get("steady-state-hypothesis") or {}).get("probes") or []
    listed = [*probes, *(doc.get("method") or []), *(doc.get("rollbacks") or [])]
    return [a for a in listed if isinstance(a, dict) and "ref" not in a]


def _misspell(word: str, how: int) -> str:
    return [word[:-1], word + "s", word[1:] + word[0], word + "ication", "no-such-proxy"][how % 5]


@st.composite
def variations(draw: st.DrawFn) -> tuple[str, list[str], dict[str, Any]]:
    base = draw(st.sampled_from(BASES))
    doc = _tiny(yaml.safe_load(base.read_text(encoding="utf-8")))
    done: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                ["drop", "duplicate", "swap", "argument", "proxy", "target", "template", "pause"]
            )
        )
        activities = _activities(doc)
        if not activities:
            break
        activity = draw(st.sampled_from(activities))
        arguments = (activity.get("provider") or {}).get("arguments")
        if kind in ("drop", "duplicate", "swap"):
            section = draw(st.sampled_from([s for s in _SECTIONS if doc.get(s)] or ["method"]))
            items = doc.get(section) or []
            if not items:
                continue
            i, j = draw(st.integers(0, len(items) - 1)), draw(st.integers(0, len(items) - 1))
            if kind == "drop":
                items.pop(i)
            elif kind == "duplicate":
                items.insert(j, copy.deepcopy(items[i]))
            else:
                items[i], items[j] = items[j], items[i]
            done.append(f"{kind} {section}[{i}]")
        elif kind == "argument" and isinstance(arguments, dict) and arguments:
            name = draw(st.sampled_from(sorted(arguments)))
            value = draw(st.sampled_from(["fast", -5, 10**9, True, None, 1.5, [1], "800"]))
            arguments[name] = value
            done.append(f"argument {activity.get('name')}.{name}={value!r}")
        elif kind == "proxy" and isinstance(arguments, dict) and "proxy" in arguments:
            arguments["proxy"] = _misspell(str(arguments["proxy"]), draw(st.integers(0, 4)))
            done.append(f"proxy {activity.get('name')}={arguments['proxy']}")
        elif kind == "target" and isinstance(activity.get("tolerance"), dict):
            activity["tolerance"].pop("target", None)
            done.append(f"no target on {activity.get('name')}")
        elif kind == "template" and isinstance(arguments, dict) and arguments:
            name = draw(st.sampled_from(sorted(arguments)))
            key = draw(st.sampled_from(["value", "missing"]))
            if key == "value":
                doc.setdefault("configuration", {})["value"] = arguments[name]
            arguments[name] = f"${{{key}}}"
            done.append(f"template {activity.get('name')}.{name}=${{{key}}}")
        elif kind == "pause":
            seconds = draw(st.sampled_from([0, 0.5, 2, 12, 30]))
            activity["pauses"] = {draw(st.sampled_from(["before", "after"])): seconds}
            done.append(f"pause {activity.get('name')}={seconds}")
    return base.name, done, doc


def _run_dir(home: Path, stdout: str) -> Path | None:
    try:
        return Path(json.loads(stdout)["journal"]).parent
    except (ValueError, KeyError, TypeError):
        runs = sorted((home / "runs").glob("*"), key=lambda p: p.stat().st_mtime)
        return runs[-1] if runs else None


@pytest.mark.timeout(400)
def test_every_variation_that_validates_runs_without_a_traceback(
    lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    home: Path = lab["home"]
    client = ToxiproxyClient(lab["toxiproxy_url"])
    counts: Counter[str] = Counter()
    folder = tmp_path_factory.mktemp("variations")

    @settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(variations())
    def check(variation: tuple[str, list[str], dict[str, Any]]) -> None:
        base, done, doc = variation
        counts["generated"] += 1
        path = folder / f"{counts['generated']:02d}-{base}"
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        what = f"{base} with {'; '.join(done) or 'no change'} ({path})"
        validated = run_cli(home, "validate", str(path))
        assert validated.returncode in (0, 2), what + validated.stderr
        assert "Traceback" not in validated.stdout + validated.stderr, what
        if validated.returncode != 0:
            counts["refused"] += 1
            return
        counts["validated"] += 1
        result = run_cli(home, "run", str(path), "--json", timeout=60)
        run_dir = _run_dir(home, result.stdout)
        outputs = {"stdout": result.stdout, "stderr": result.stderr}
        for name in ("worker.out", "worker.log"):
            if run_dir is not None and (run_dir / name).exists():
                outputs[name] = (run_dir / name).read_text(encoding="utf-8", errors="replace")
        for name, text in outputs.items():
            assert "Traceback" not in text, f"{what}: traceback in {name}:\n{text[-3000:]}"
        assert result.returncode in EXIT_CODES, f"{what}: exit {result.returncode}\n{outputs}"
        assert is_clean(client), f"{what}: a fault outlived the run"
        counts[f"exit {result.returncode}"] += 1

    check()
    print(f"validated runs: {dict(counts)}")
    assert counts["validated"] >= 3, counts  # the property was exercised on real runs
