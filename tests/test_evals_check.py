"""Regression check: directions, tolerances, missing metrics, exit status."""

from __future__ import annotations

import json

import pytest

from evals.cli import main
from evals.inputs import InputError
from evals.regression import MISSING, NEW, OK, REGRESSED, compare_metrics, parse_overrides, read_metrics

BETTER = {"div": "higher", "lose": "lower"}


def statuses(checks):
    return {c.metric: c.status for c in checks}


def test_directions_and_absolute_tolerance():
    baseline = {"div": 0.70, "lose": 0.20}
    assert statuses(compare_metrics({"div": 0.695, "lose": 0.205}, baseline, BETTER, tolerance=0.01)) == {
        "div": OK, "lose": OK}
    assert statuses(compare_metrics({"div": 0.68, "lose": 0.10}, baseline, BETTER, tolerance=0.01)) == {
        "div": REGRESSED, "lose": OK}  # lose fell: an improvement
    assert statuses(compare_metrics({"div": 0.90, "lose": 0.25}, baseline, BETTER, tolerance=0.01)) == {
        "div": OK, "lose": REGRESSED}


def test_per_metric_overrides_and_relative():
    baseline = {"div": 0.70, "lose": 0.20}
    current = {"div": 0.66, "lose": 0.20}
    checks = compare_metrics(current, baseline, BETTER, tolerance=0.01, overrides={"d*": 0.05})
    assert statuses(checks)["div"] == OK and checks[0].tolerance == 0.05
    assert statuses(compare_metrics(current, baseline, BETTER, tolerance=0.05, relative=True))["div"] == REGRESSED
    assert parse_overrides(["diversity.*=0.02", "a=b=0.1"]) == {"diversity.*": 0.02, "a=b": 0.1}
    with pytest.raises(InputError, match="NAME=NUMBER"):
        parse_overrides(["diversity.*"])


def test_missing_undefined_and_new_metrics():
    checks = compare_metrics({"div": None, "extra": 1.0}, {"div": 0.7, "lose": 0.2}, BETTER)
    assert statuses(checks) == {"div": MISSING, "lose": MISSING, "extra": NEW}
    only = compare_metrics({"div": 0.7}, {"div": 0.7, "lose": 0.2}, BETTER, only=["div*"])
    assert statuses(only) == {"div": OK}


def test_reads_reports_and_flat_baselines(tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"metrics": {"div": 0.7}, "better": {"div": "higher"}}), encoding="utf-8")
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"div": 0.69}), encoding="utf-8")
    assert read_metrics(report) == ({"div": 0.7}, {"div": "higher"})
    assert read_metrics(flat) == ({"div": 0.69}, {})
    flat.write_text(json.dumps({"div": "high"}), encoding="utf-8")
    with pytest.raises(InputError, match="metric 'div' must be a number"):
        read_metrics(flat)


def test_cli_exit_status_and_table(tmp_path, capsys):
    current = tmp_path / "report.json"
    current.write_text(json.dumps({"metrics": {"diversity.selfbleu.m": 0.60, "difficulty.a_vs_b.lose_rate": 0.3},
                                   "better": {"diversity.selfbleu.m": "higher",
                                              "difficulty.a_vs_b.lose_rate": "lower"}}), encoding="utf-8")
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"diversity.selfbleu.m": 0.65, "difficulty.a_vs_b.lose_rate": 0.3}),
                        encoding="utf-8")
    assert main(["check", str(current), "--baseline", str(baseline), "--tolerance", "0.01"]) == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "-0.0500" in out and "1 of 2 metric(s) regressed" in out
    assert main(["check", str(current), "--baseline", str(baseline),
                 "--metric-tolerance", "diversity.*=0.1", "--json", str(tmp_path / "c.json")]) == 0
    rows = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert {r["metric"]: r["status"] for r in rows} == {"diversity.selfbleu.m": OK, "difficulty.a_vs_b.lose_rate": OK}
    assert main(["check", str(current), "--baseline", str(tmp_path / "absent.json")]) == 2
