"""The verdict rule: a difference counts only beyond twice the pooled std over seeds."""

from __future__ import annotations

import math

from training.eval.verdicts import CLAIMS, Claim, claim_verdict, compare, judge, verdict_report


def _results(a: list[float], b: list[float], metric: str = "motion_probe") -> dict[str, dict]:
    return {
        str(seed): {"stage2_full": {metric: x}, "stage1_only": {metric: y}}
        for seed, (x, y) in enumerate(zip(a, b, strict=True))
    }


def test_difference_beyond_two_pooled_std_is_reproduced() -> None:
    # stds 0.01 each -> pooled 0.01; difference 0.05 > 0.02
    c = compare(
        _results([0.50, 0.51, 0.52], [0.45, 0.46, 0.47]), "stage2_full", "stage1_only", "motion_probe"
    )
    assert math.isclose(c.difference, 0.05) and math.isclose(c.pooled_std, 0.01)
    assert c.verdict == "reproduced" and c.seeds == 3


def test_reversed_difference_is_not_reproduced() -> None:
    c = compare(
        _results([0.45, 0.46, 0.47], [0.50, 0.51, 0.52]), "stage2_full", "stage1_only", "motion_probe"
    )
    assert c.verdict == "not reproduced"


def test_difference_inside_two_pooled_std_is_inconclusive() -> None:
    # difference 0.015 < 2 x 0.01
    c = compare(
        _results([0.50, 0.51, 0.52], [0.485, 0.495, 0.505]), "stage2_full", "stage1_only", "motion_probe"
    )
    assert c.verdict == "inconclusive"


def test_pooled_std_uses_both_sides() -> None:
    # stds 0 and 0.1 -> pooled sqrt(0.005) = 0.0707; a difference of 0.1 < 0.141 is not enough
    c = compare(_results([0.6, 0.6, 0.6], [0.4, 0.5, 0.6]), "stage2_full", "stage1_only", "motion_probe")
    assert math.isclose(c.pooled_std, math.sqrt(0.005)) and c.verdict == "inconclusive"


def test_one_seed_or_missing_model_is_inconclusive() -> None:
    one = compare(_results([0.9], [0.1]), "stage2_full", "stage1_only", "motion_probe")
    assert one.verdict == "inconclusive" and math.isnan(one.pooled_std)
    missing = compare(_results([0.9, 0.8], [0.1, 0.2]), "stage2_full", "no_global", "motion_probe")
    assert missing.verdict == "inconclusive" and missing.seeds == 0


def test_claim_combines_its_comparisons() -> None:
    yes = compare(
        _results([0.5, 0.51, 0.52], [0.45, 0.46, 0.47]), "stage2_full", "stage1_only", "motion_probe"
    )
    no = compare(
        _results([0.45, 0.46, 0.47], [0.5, 0.51, 0.52]), "stage2_full", "stage1_only", "motion_probe"
    )
    maybe = compare(_results([0.5, 0.51], [0.5, 0.51]), "stage2_full", "stage1_only", "motion_probe")
    assert claim_verdict([yes, maybe]) == "reproduced"
    assert claim_verdict([no, maybe]) == "not reproduced"
    assert claim_verdict([yes, no]) == "inconclusive"
    assert claim_verdict([maybe]) == "inconclusive"


def test_report_names_every_claim_and_verdict() -> None:
    results = _results([0.5, 0.51, 0.52], [0.45, 0.46, 0.47])
    claim = Claim("stage 2 helps motion", ("stage2_full",), ("stage1_only",), ("motion_probe",))
    verdict, comparisons = judge(results, claim)
    assert verdict == "reproduced" and len(comparisons) == 1
    report = verdict_report(results, (claim, *CLAIMS))
    assert "**stage 2 helps motion: reproduced**" in report
    assert "+5.0 points (2 x pooled std 2.0, n = 3): reproduced" in report
    assert report.count("**") == 2 * (1 + len(CLAIMS))
