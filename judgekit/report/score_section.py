"""The score file's sections: verdict and provenance, distributions, unscored units, lexical metrics,
panels, pairwise, and the data of its item browser."""

from __future__ import annotations

import math
import shlex
from collections import Counter, defaultdict
from typing import Any

from judgekit.report import plots
from judgekit.report.inputs import ReportInput, Row
from judgekit.report.page import ci, esc, figure, kv, note, num, section, table
from judgekit.results import ScoreFile

#: Per-aspect bars only when aspects are shared across questions (criteria rubrics); LaMP-QA's aspects are
#: written per question, so a bar per aspect name would be one bar per unit.
MAX_ASPECT_BARS = 30
MAX_UNSCORED_ROWS = 200
_ALPHA_LEVELS = ("nominal", "ordinal", "interval")


def fin(value: Any) -> float | None:
    """A finite float, or None (JSON has no NaN). Called per unit: the common cases go first."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is int:
        return float(value)
    return None


def score_ci(sf: ScoreFile) -> tuple[float, float, str] | None:
    """``score_ci`` as the file writes it: {low, high} / {ci_low, ci_high} (+ level), or [low, high]."""
    raw = getattr(sf, "score_ci", None)
    if raw is None:
        raw = (sf.model_extra or {}).get("score_ci")
    level = ""
    if isinstance(raw, dict):
        lo, hi = raw.get("ci_low", raw.get("low")), raw.get("ci_high", raw.get("high"))
        conf = raw.get("confidence", raw.get("level"))
        level = f"{round(float(conf) * 100)}% " if isinstance(conf, int | float) and conf < 1 else ""
    elif isinstance(raw, list | tuple) and len(raw) == 2:
        lo, hi = raw
    else:
        return None
    flo, fhi = fin(lo), fin(hi)
    return None if flo is None or fhi is None else (flo, fhi, level)


def verdict_line(item: ReportInput, sf: ScoreFile) -> str:
    cov = sf.coverage
    interval = score_ci(sf)
    ci_text = f" ({interval[2]}CI {num(interval[0])}–{num(interval[1])})" if interval else ""
    return (
        f"<strong>score {esc(num(sf.score))}</strong>{esc(ci_text)} · coverage {esc(f'{cov.ratio:.1%}')} "
        f"({cov.scored:,}/{cov.total:,} units; {cov.questions_scored:,}/{cov.questions_total:,} questions)"
        f" · judge {esc(', '.join(judges_of(sf)) or 'n/a')}"
    )


def judges_of(sf: ScoreFile) -> list[str]:
    many = sf.meta.get("judges")
    if isinstance(many, list) and many:
        return [str(j) for j in many]
    one = (sf.meta.get("judge") or {}).get("identity")
    return [str(one)] if one else []


def _judge_spec(identity: str) -> str:
    """The --judge value from a recorded identity such as ``litellm:openai/judge@http://...|structured=...``."""
    spec = identity.split("|", 1)[0]
    spec = spec.split("@", 1)[0]
    return spec.split(":", 1)[1] if spec.startswith(("litellm:", "local:")) and ":" in spec else spec


def command_of(sf: ScoreFile, label: str) -> tuple[str, bool]:
    """The command that reproduces the run: as recorded in meta, else rebuilt from meta (flag False)."""
    recorded = sf.meta.get("command")
    if isinstance(recorded, list) and recorded:
        return shlex.join(str(x) for x in recorded), True
    if isinstance(recorded, str) and recorded:
        return recorded, True
    args = ["judgekit", "score"]
    for name, info in (sf.meta.get("inputs") or {}).items():
        if isinstance(info, dict) and info.get("path"):
            args += [f"--{str(name).replace('_', '-')}", str(info["path"])]
    rubric = sf.meta.get("rubric") or {}
    if rubric.get("name"):
        args += ["--rubric", str(rubric["name"])]
    if rubric.get("mode"):
        args += ["--mode", str(rubric["mode"])]
    for who in judges_of(sf):
        args += ["--judge", _judge_spec(who)]
    judge = sf.meta.get("judge") or {}
    if judge.get("api_base"):
        args += ["--api-base", str(judge["api_base"])]
    if judge.get("structured") not in (None, "auto"):
        args += ["--structured", str(judge["structured"])]
    if fin(judge.get("temperature")) not in (None, 0.0):
        args += ["--temperature", f"{judge['temperature']:g}"]
    if isinstance(judge.get("samples"), int) and judge["samples"] != 1:
        args += ["--samples", str(judge["samples"])]
    if judge.get("seed") is not None:
        args += ["--seed", str(judge["seed"])]
    if judge.get("max_tokens") is not None:
        args += ["--max-tokens", str(judge["max_tokens"])]
    if len(judges_of(sf)) > 1 and sf.meta.get("combine"):
        args += ["--combine", str(sf.meta["combine"])]
    args += ["--out", label]
    return shlex.join(args), False


def provenance(item: ReportInput, sf: ScoreFile) -> str:
    meta, t = sf.meta, sf.totals
    rubric = meta.get("rubric") or {}
    rows: list[tuple[str, str]] = [("verdict", verdict_line(item, sf))]
    if meta.get("score_definition"):
        rows.append(("score definition", esc(meta["score_definition"])))
    judges = judges_of(sf)
    rows.append(("judge" if len(judges) <= 1 else "judges", "<br>".join(esc(j) for j in judges) or "n/a"))
    if rubric:
        rows.append(
            (
                "rubric",
                f"{esc(rubric.get('name'))} v{esc(rubric.get('version'))} ({esc(rubric.get('mode'))}) "
                f"<code>sha256 {esc(rubric.get('content_sha256'))}</code>",
            )
        )
    for name, info in (meta.get("inputs") or {}).items():
        if isinstance(info, dict):
            rows.append(
                (f"input: {name}", f"{esc(info.get('path'))} <code>sha256 {esc(info.get('sha256'))}</code>")
            )
    versions = {"judgekit": meta.get("judgekit_version"), **(meta.get("versions") or {})}
    rows.append(("versions", esc(", ".join(f"{k} {v}" for k, v in versions.items() if v))))
    if meta.get("started_at"):
        rows.append(("started", esc(meta["started_at"])))
    rows.append(
        (
            "calls",
            esc(
                f"{t.calls:,} judge calls, {t.cache_hits:,} cache hits, {t.retries:,} retries, "
                f"{t.reasks:,} re-asks"
            ),
        )
    )
    thought = f" ({t.reasoning_tokens:,} reasoning)" if t.reasoning_tokens else ""
    rows.append(("tokens", esc(f"{t.prompt_tokens:,} in / {t.completion_tokens:,} out{thought}")))
    rows.append(("cost", esc(f"${t.cost_usd:.4f}" if t.cost_usd else "not reported")))
    rows.append(("wall time", esc(f"{t.wall_time_s:.1f} s")))
    command, recorded = command_of(sf, item.path.name if item.path else "scores.json")
    how = (
        ""
        if recorded
        else '<span class="note"> (rebuilt from meta: the run did not record its command)</span>'
    )
    rows.append(("reproduce", f"<code class=cmd>{esc(command)}</code>{how}"))
    return kv(rows)


def distribution(sf: ScoreFile, questions: list[Row], salt: str) -> str:
    values = [v for v in (fin(q["score"]) for q in questions) if v is not None]
    if not values:
        return note("no question was scored: there is no distribution to draw")
    lines: list[tuple[float, str, str]] = []
    if fin(sf.score) is not None:
        lines.append((float(sf.score or 0.0), f"file score {num(sf.score)}", "#c0392b"))
    interval = score_ci(sf)
    svg = plots.histogram(
        values,
        salt=salt,
        xlabel="question score",
        lines=lines,
        shade=(interval[0], interval[1]) if interval else None,
    )
    return figure(svg, f"Scores of the {len(values):,} scored questions", "question-scores")


def _bars(groups: dict[str, list[float]], salt: str, xlabel: str, name: str, caption: str) -> str:
    """Mean per group; ``groups`` maps a label to [sum, count]."""
    labels = sorted(groups)
    means = [groups[k][0] / groups[k][1] for k in labels]
    lows: list[float | None] = [None] * len(labels)
    highs: list[float | None] = [None] * len(labels)
    svg = plots.interval_chart(
        [f"{k} (n={int(groups[k][1])})" for k in labels], means, lows, highs, salt=salt, xlabel=xlabel
    )
    return figure(svg, caption, name)


def _add(groups: dict[str, list[float]], key: str, value: float) -> None:
    acc = groups.get(key)
    if acc is None:
        groups[key] = [value, 1.0]
    else:
        acc[0] += value
        acc[1] += 1.0


def breakdowns(sf: ScoreFile, questions: list[Row], salt: str) -> str:
    """Mean score per aspect (when aspects repeat across questions) and per category; the CIs the file
    carries (``by_aspect`` / ``by_category`` with ci_low/ci_high) are drawn when present."""
    out = []
    extra = dict(sf.model_extra or {})
    for key in ("by_category", "by_aspect"):
        declared = getattr(sf, key, None)
        if declared:
            extra[key] = declared
    for key, kind in (("by_category", "category"), ("by_aspect", "aspect")):
        stored = extra.get(key)
        if isinstance(stored, dict) and stored:
            labels = sorted(stored)
            entries = [stored[k] or {} for k in labels]
            vals = [fin(e.get("score", e.get("value"))) for e in entries]
            cis = [e.get("score_ci") or {} for e in entries]
            lows = [fin(c.get("low", e.get("ci_low"))) for c, e in zip(cis, entries, strict=True)]
            highs = [fin(c.get("high", e.get("ci_high"))) for c, e in zip(cis, entries, strict=True)]
            svg = plots.interval_chart(labels, vals, lows, highs, salt=f"{salt}-{kind}", xlabel="score")
            out.append(figure(svg, f"Score per {kind} with its CI (from the score file)", f"by-{kind}"))
    if "by_category" not in extra:
        cats: dict[str, list[float]] = {}
        for q in questions:
            cat, value = q.get("category"), fin(q["score"])
            if cat is not None and value is not None:
                _add(cats, cat, value)
        if cats:
            out.append(
                _bars(
                    cats,
                    f"{salt}-category",
                    "mean question score",
                    "by-category",
                    "Mean question score per category (the score file stores no per-category CI)",
                )
            )
    if "by_aspect" not in extra:
        aspects: dict[str, list[float]] = {}
        for q in questions:
            for a in q["details"]:
                value = fin(a.get("score"))
                if value is not None and a.get("status", "scored") == "scored":
                    _add(aspects, a["aspect"], value)
        repeated = all(v[1] > 1 for v in aspects.values())
        if aspects and len(aspects) <= MAX_ASPECT_BARS and repeated:
            out.append(
                _bars(
                    aspects,
                    f"{salt}-aspect",
                    "mean unit score",
                    "by-aspect",
                    "Mean score per aspect / criterion (the score file stores no per-aspect CI)",
                )
            )
        elif aspects:
            out.append(
                note(
                    f"{len(aspects):,} distinct aspect names: aspects are written per question, so no "
                    "per-aspect bars (see the item browser)"
                )
            )
    return "".join(out)


def unscored(sf: ScoreFile) -> str:
    if not sf.unscored:
        return note("every unit was scored")
    reasons = Counter(u.reason.split(":")[0] for u in sf.unscored)
    summary = table(["reason", "units"], [(esc(r), num(n)) for r, n in reasons.most_common()])
    rows = [(esc(u.id), esc(u.aspect), esc(u.reason)) for u in sf.unscored[:MAX_UNSCORED_ROWS]]
    more = len(sf.unscored) - len(rows)
    tail = (
        note(f"{more:,} more unscored units: filter the item browser by 'has unscored units'") if more else ""
    )
    return summary + table(["question", "unit", "reason"], rows) + tail


def lexical(sf: ScoreFile, questions: list[Row], salt: str) -> str:
    lex = sf.lexical
    if not lex:
        return ""
    corr = lex.get("correlation_with_judge") or {}
    rows = []
    for name, value in (lex.get("overall") or {}).items():
        c = corr.get(name) or {}
        rows.append((esc(name), num(fin(value), 4), num(fin(c.get("spearman"))), num(fin(c.get("kendall")))))
    body = note(str(lex.get("aggregation", "mean of item-level scores")))
    body += table(["metric", "mean", "Spearman with judge", "Kendall with judge"], rows)
    overall = lex.get("overall") or {}
    # The first metric the file correlated with the judge (F-measures, METEOR, BLEU; not P or R).
    headline = next((m for m in corr if m in overall), next(iter(overall), None))
    pairs = [
        (float(q["score"]), float(q["lexical"][headline]))
        for q in questions
        if headline
        and fin(q["score"]) is not None
        and fin((q.get("lexical") or {}).get(headline)) is not None
    ]
    if pairs:
        svg = plots.scatter(
            [p[1] for p in pairs],
            [p[0] for p in pairs],
            salt=f"{salt}-lexical",
            xlabel=str(headline),
            ylabel="judge question score",
            diagonal=False,
        )
        body += figure(svg, f"Judge score against {headline}, one point per question", "lexical-vs-judge")
    return section(f"{salt}-lexical-sec", "Lexical metrics beside the judge", body, 3)


def panel(sf: ScoreFile, questions: list[Row], salt: str) -> str:
    p = sf.panel
    if not p:
        return ""
    judges = [j for j in p.get("judges") or [] if isinstance(j, dict)]
    rows = []
    for j in judges:
        cov = j.get("coverage") or {}
        rows.append(
            (esc(j.get("identity")), num(fin(j.get("score"))), esc(f"{fin(cov.get('ratio')) or 0:.1%}"))
        )
    body = note(f"combined by {p.get('method', 'n/a')}")
    body += table(["judge", "score", "coverage"], rows)
    names = [str(j.get("identity")) for j in judges]
    if names:
        svg = plots.interval_chart(
            names,
            [fin(j.get("score")) for j in judges],
            [None] * len(names),
            [None] * len(names),
            salt=f"{salt}-panel-scores",
            xlabel="score",
        )
        body += figure(svg, "Each judge's file score", "panel-scores")
    alpha = p.get("alpha") or {}
    arows = []
    for level_name, a in alpha.items():
        if isinstance(a, dict):
            arows.append(
                (
                    esc(level_name),
                    num(a.get("units")),
                    *(num(fin(a.get(k))) for k in _ALPHA_LEVELS),
                )
            )
    body += table(["over", "units", *(f"α {k}" for k in _ALPHA_LEVELS)], arows)
    matrix = _pairwise_alpha(questions, names)
    if matrix is not None:
        svg = plots.heatmap(
            matrix,
            names,
            names,
            salt=f"{salt}-panel-alpha",
            label="Krippendorff's α (interval)",
            vmin=0.0,
            vmax=1.0,
        )
        body += figure(
            svg, "Inter-judge α for each pair of judges, over the units both scored", "panel-alpha"
        )
    return section(f"{salt}-panel-sec", "Panel: per-judge scores and agreement", body, 3)


def _pairwise_alpha(questions: list[Row], names: list[str]) -> list[list[float | None]] | None:
    from judgekit.scoring.panel import alpha_table

    if len(names) < 2:
        return None
    units: list[dict[str, Any]] = [a["judges"] for q in questions for a in q["details"] if a.get("judges")]
    if not units:
        return None
    out: list[list[float | None]] = []
    for a in names:
        row: list[float | None] = []
        for b in names:
            if a == b:
                row.append(1.0)
                continue
            rows = [[u.get(a) for u in units], [u.get(b) for u in units]]
            row.append(fin(alpha_table(rows, ("interval",)).get("interval")))
        out.append(row)
    return out


def pairwise(sf: ScoreFile, salt: str) -> str:
    pw = sf.pairwise
    if not pw:
        return ""
    rates = pw.get("rates") or {}
    names = [k for k in ("win", "tie", "loss", "inconsistent") if isinstance(rates.get(k), dict)]
    body = kv(
        [
            ("pairs", esc(f"{pw.get('judged', 'n/a')} judged of {pw.get('pairs', 'n/a')}")),
            ("counts", esc(", ".join(f"{k} {v}" for k, v in (pw.get("counts") or {}).items()))),
            ("win rate (decided)", _estimate(pw.get("win_rate"))),
            ("position consistency", _estimate(pw.get("position_consistency"))),
            ("first position picked", esc(num(fin(pw.get("first_position_share"))))),
            ("on disagreement", esc(pw.get("on_disagreement"))),
        ]
    )
    if names:
        svg = plots.interval_chart(
            names,
            [fin(rates[k].get("value")) for k in names],
            [fin(rates[k].get("ci_low")) for k in names],
            [fin(rates[k].get("ci_high")) for k in names],
            salt=f"{salt}-pairwise",
            xlabel="share of pairs",
            xlim=(0.0, 1.0),
        )
        body += figure(svg, "Win / tie / loss of system 1 with CIs", "pairwise-rates")
    return section(f"{salt}-pairwise-sec", "Pairwise: win / tie / loss", body, 3)


def consistency(sf: ScoreFile, salt: str) -> str:
    """Several samples per judgment: how far each judge's samples agree (Krippendorff's alpha)."""
    c = sf.consistency
    if not c:
        return ""
    rows = []
    for j in c.get("judges") or []:
        a = j.get("alpha") or {}
        rows.append(
            (esc(j.get("identity")), num(a.get("units")), *(num(fin(a.get(k))) for k in _ALPHA_LEVELS))
        )
    body = note(f"{c.get('samples')} samples per judgment; each sample index is one rater")
    body += table(["judge", "units", *(f"α {k}" for k in _ALPHA_LEVELS)], rows)
    return section(f"{salt}-consistency-sec", "Self-consistency of the judge's samples", body, 3)


def _estimate(e: Any) -> str:
    if isinstance(e, dict):
        return esc(f"{num(fin(e.get('value')))} {ci(fin(e.get('ci_low')), fin(e.get('ci_high')))}".strip())
    return esc(num(fin(e)))


#: A run log call's keys and their short names in the item browser's data (absent ones are left out).
_CALL_KEYS = (
    ("judge", "judge"),
    ("targets", "t"),
    ("turn", "turn"),
    ("status", "st"),
    ("completion", "c"),
    ("parse_error", "e"),
)


def browser_data(item: ReportInput) -> dict[str, Any]:
    """One compact row per question for the item browser (rendered in the page by textContent); keys whose
    value is the default (a unit's "scored" status, a call's missing fields) are left out."""
    calls: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in item.log:
        call = {short: row[key] for key, short in _CALL_KEYS if row.get(key) is not None}
        calls[str(row.get("id"))].append(call)
    out = []
    for q in item.questions:
        qid = q["id"]
        entry: dict[str, Any] = {
            "id": qid,
            "s": fin(q["score"]),
            "cov": fin(q.get("coverage", 0.0)),
            "a": [_unit(a) for a in q["details"]],
        }
        if q.get("category") is not None:
            entry["cat"] = q["category"]
        if q.get("lexical"):
            entry["lex"] = {k: fin(v) for k, v in q["lexical"].items()}
        if q.get("judges"):
            entry["j"] = {k: fin(v) for k, v in q["judges"].items()}
        text = item.texts.get(qid)
        if text:
            if text.get("question"):
                entry["q"] = text["question"]
            if text.get("response"):
                entry["resp"] = text["response"]
        if qid in calls:
            entry["log"] = calls[qid]
        out.append(entry)
    return {"items": out, "note": item.log_note}


def _unit(a: Row) -> dict[str, Any]:
    unit: dict[str, Any] = {"n": a["aspect"], "s": fin(a.get("score"))}
    status = a.get("status", "scored")
    if status != "scored":
        unit["st"] = status
    if a.get("reason"):
        unit["r"] = a["reason"]
    if a.get("judges"):
        unit["j"] = {k: fin(v) for k, v in a["judges"].items()}
    samples = a.get("samples")
    if samples and len(samples) > 1:
        unit["smp"] = [fin(x) for x in samples]
    return unit


def score_sections(item: ReportInput, sf: ScoreFile, salt: str) -> str:
    questions = item.questions
    parts = [
        section(f"{salt}-prov", "Verdict and provenance", provenance(item, sf), 3),
        section(
            f"{salt}-dist", "Distribution of question scores", distribution(sf, questions, f"{salt}-dist"), 3
        ),
    ]
    bd = breakdowns(sf, questions, f"{salt}-bd")
    if bd:
        parts.append(section(f"{salt}-bd", "Per aspect and per category", bd, 3))
    parts.append(section(f"{salt}-unscored", f"Unscored units ({len(sf.unscored):,})", unscored(sf), 3))
    parts += [
        lexical(sf, questions, salt),
        panel(sf, questions, salt),
        pairwise(sf, salt),
        consistency(sf, salt),
    ]
    return "".join(p for p in parts if p)
