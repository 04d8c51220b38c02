"""Writers for a gate result: JUnit XML (one test case per check), a Markdown summary, terminal lines.

The JSON result is :meth:`GateResult.to_json`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from judgekit.gate.result import Check, GateResult, QuestionChange
from judgekit.gate.text import fixed, p_text, signed

_ICON = {"pass": "✅ pass", "fail": "❌ fail", "warn": "⚠️ warn", "skip": "⏭️ skip"}
_TITLES = {
    "floor.score": "overall score",
    "floor.coverage": "coverage",
    "regression": "regression vs baseline",
    "regression.missing": "questions missing",
    "per_question": "per-question regressions",
    "provenance": "same rubric and judge",
}


def title(check: Check) -> str:
    if check.name in _TITLES:
        return _TITLES[check.name]
    for prefix, label in (
        ("floor.aspect[", "aspect "),
        ("floor.category[", "category "),
        ("floor.lexical[", "lexical "),
        ("drift.", "judge drift: "),
    ):
        if check.name.startswith(prefix):
            inner = check.name[len(prefix) :].rstrip("]")
            return label + inner
    return check.name


def _num(value: float | None, digits: int = 3) -> str:
    return fixed(value, digits, missing="")


# ----------------------------------------------------------------------------------------------------------
# JUnit XML
# ----------------------------------------------------------------------------------------------------------


def junit_xml(result: GateResult, suite: str = "judgekit gate") -> str:
    """One ``<testcase>`` per check inside one ``<testsuite>``; fail -> ``<failure>``, skip -> ``<skipped>``,
    warn -> a passing case whose ``<system-out>`` says why."""
    failures = sum(c.status == "fail" for c in result.checks)
    skipped = sum(c.status == "skip" for c in result.checks)
    root = ET.Element("testsuites", name=suite, tests=str(len(result.checks)), failures=str(failures))
    root.set("errors", "0")
    ts = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(result.checks)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time="0",
    )
    for check in result.checks:
        case = ET.SubElement(ts, "testcase", classname=f"judgekit.gate.{check.kind}", name=title(check))
        case.set("time", "0")
        if check.status == "fail":
            failure = ET.SubElement(case, "failure", message=check.message, type=f"gate.{check.kind}")
            failure.text = _case_text(check, result)
        elif check.status == "skip":
            ET.SubElement(case, "skipped", message=check.message)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = (
                ("WARNING: " if check.status == "warn" else "") + check.message + _power_note(check, result)
            )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _power_note(check: Check, result: GateResult) -> str:
    """The regression check's power statement, on a line of its own."""
    if check.name != "regression" or result.power is None:
        return ""
    return "\npower: " + result.power.message


def _case_text(check: Check, result: GateResult) -> str:
    lines = [check.message + _power_note(check, result)]
    if check.value is not None:
        lines.append(f"value: {check.value:.6g}")
    if check.threshold is not None:
        lines.append(f"threshold: {check.threshold:.6g}")
    if check.kind in ("regression", "per_question") and result.regressed:
        lines.append("most regressed questions:")
        lines += ["  " + _question_line(q) for q in result.regressed]
    return "\n".join(lines)


def _question_line(q: QuestionChange) -> str:
    head = f"{q.id}: {_num(q.baseline)} -> {_num(q.candidate) or 'unscored'} ({signed(q.diff)})"
    if q.aspects:
        head += "; " + _aspects(q, ascii_only=True)
    return head


def _aspect_value(v: float | None, status: str | None) -> str:
    if v is not None:
        return f"{v:.3g}"
    return "–" if status in (None, "absent") else str(status)


def _aspects(q: QuestionChange, limit: int = 4, ascii_only: bool = False) -> str:
    arrow = "->" if ascii_only else "→"
    parts = [
        f"{a.aspect} {_aspect_value(a.baseline, a.baseline_status)}{arrow}"
        f"{_aspect_value(a.candidate, a.candidate_status)}"
        for a in q.aspects[:limit]
    ]
    if len(q.aspects) > limit:
        parts.append(f"+{len(q.aspects) - limit} more")
    return ", ".join(parts)


# ----------------------------------------------------------------------------------------------------------
# Markdown (a pull-request comment / $GITHUB_STEP_SUMMARY)
# ----------------------------------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_summary(result: GateResult) -> str:
    failed = result.failed
    n = len(result.checks)
    if result.passed:
        head = f"## judgekit gate: ✅ passed ({n} checks"
        head += (
            f", {len(result.warnings)} warning{'s' if len(result.warnings) != 1 else ''})"
            if result.warnings
            else ")"
        )
    else:
        head = f"## judgekit gate: ❌ failed ({len(failed)} of {n} checks)"
    lines = [head, ""]
    why = _why(result)
    if why:
        lines += [*why, ""]
    lines += ["| check | result | value | threshold |", "|---|---|---|---|"]
    for c in result.checks:
        lines.append(
            f"| {_md(title(c))} | {_ICON[c.status]} | {_md(_value_cell(c, result))} | {_threshold_cell(c)} |"
        )
    if result.regressed:
        lines += ["", "<details><summary>Most regressed questions</summary>", ""]
        lines += ["| question | baseline | candidate | Δ | aspects changed |", "|---|---|---|---|---|"]
        for q in result.regressed:
            cand = _num(q.candidate) or "unscored"
            lines.append(
                f"| {_md(q.id)} | {_num(q.baseline)} | {cand} | {signed(q.diff)} | {_md(_aspects(q)) or '–'} |"
            )
        lines += ["", "</details>"]
    lines += ["", _footer(result)]
    return "\n".join(lines) + "\n"


def _why(result: GateResult) -> list[str]:
    """A few lines saying why: each failure, then each warning."""
    out = [f"- **{_md(title(c))}**: {_md(c.message)}" for c in result.failed]
    out += [f"- ⚠️ {_md(title(c))}: {_md(c.message)}" for c in result.warnings]
    if not out and result.regression is not None:
        r = next(c for c in result.checks if c.name == "regression")
        out.append(f"- regression: {_md(r.message)}")
    if result.power is not None:
        mark = "⚠️ " if result.power.adequate is False else ""
        out.append(f"- {mark}power: {_md(result.power.message)}")
    return out


def _value_cell(c: Check, result: GateResult) -> str:
    if c.name == "regression" and result.regression is not None:
        s = result.regression
        return f"Δ {signed(s.mean_diff)} [{signed(s.ci_low)}, {signed(s.ci_high)}], {p_text(s.p_value)}"
    if c.kind == "per_question" and c.value is not None:
        return f"{int(c.value)} fell"
    if c.name == "regression.missing" and c.value is not None:
        return f"{int(c.value)} missing"
    if c.kind == "provenance":
        return "match" if c.status == "pass" else "see above"
    return _num(c.value) if c.value is not None else ("n/a" if c.kind in ("floor", "drift") else "")


def _threshold_cell(c: Check) -> str:
    if c.threshold is None:
        return ""
    if c.name == "regression":
        return f"drop ≤ {-c.threshold:g}"
    if c.kind == "per_question":
        return f"≤ {c.threshold:g}"
    return f"≥ {c.threshold:g}"


def _footer(result: GateResult) -> str:
    parts = []
    cand = result.inputs.get("candidate") or {}
    base = result.inputs.get("baseline") or {}
    if cand:
        parts.append(
            f"candidate `{cand.get('path') or '(in memory)'}` score {_num(cand.get('score')) or 'n/a'}"
        )
    if base:
        parts.append(
            f"baseline `{base.get('path') or '(in memory)'}` score {_num(base.get('score')) or 'n/a'}"
        )
    if result.regression is not None:
        s = result.regression
        if s.exact:
            parts.append(f"exact {s.test} test ({s.resamples} sign patterns)")
        else:
            parts.append(f"{s.test} test, {s.resamples} resamples, seed {s.seed}")
    if result.drift is not None and result.drift.get("judge_calls") is not None:
        parts.append(f"drift re-score: {result.drift['judge_calls']} judge call(s)")
    return "<sub>" + " · ".join(parts) + "</sub>" if parts else ""


# ----------------------------------------------------------------------------------------------------------
# Terminal
# ----------------------------------------------------------------------------------------------------------


def terminal_lines(result: GateResult) -> list[str]:
    width = max((len(title(c)) for c in result.checks), default=10)
    label = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skip": "SKIP"}
    lines = []
    for c in result.checks:
        lines.append(f"{label[c.status]}  {title(c):<{width}}  {c.message}")
        if c.name == "regression" and result.power is not None:
            lines.append(f"      {'power:':<{width}}  {result.power.message}")
    for q in result.regressed:
        lines.append(f"      fell: {_question_line(q)}")
    verdict = "passed" if result.passed else f"FAILED ({len(result.failed)} of {len(result.checks)} checks)"
    lines.append(f"gate {verdict}")
    return lines
