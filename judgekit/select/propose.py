"""``--propose N``: an LLM rewrites the best candidate's rubric from the dev items where it disagreed most with
the humans (never a test item). Each variant is written as a rubric folder and loaded as any rubric is: an
invalid one is reported with its reason and dropped, never repaired. The proposer's prompt is a rubric-style
template folder, ``rubrics/_propose``."""

from __future__ import annotations

import difflib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from judgekit.errors import JudgekitError
from judgekit.judges.factory import JudgeOptions
from judgekit.select.agreement import Agreement
from judgekit.select.candidates import Candidate
from judgekit.select.result import Variant
from judgekit.select.run import Inputs

TOP = 8  # disagreements shown to the proposer
_SUFFIXES = (".yaml", ".yml", ".j2")


@dataclass(frozen=True)
class Proposer:
    model: str
    options: JudgeOptions
    n: int


def _rubric_files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir()) if p.is_file() and p.suffix in _SUFFIXES}


def _examples(a: Agreement, inputs: Inputs) -> list[dict[str, Any]]:
    """The dev items of ``a`` with the largest judge-human difference (in rank share: scales may differ)."""
    from scipy.stats import rankdata

    j, h = np.array(a.judge), np.array(a.human)
    diff = np.abs(j - h) if a.scale else np.abs(rankdata(j) - rankdata(h)) / len(j)
    order = np.argsort(-diff, kind="stable")[:TOP]
    out = []
    for k in order:
        item = a.ids[int(k)]
        fields = {key: v for key, v in inputs.rows[item].items() if key != "id"}
        out.append(
            {
                "fields": json.dumps(fields, ensure_ascii=False, indent=1),
                "response": inputs.responses[item],
                "judge": round(float(j[k]), 4),
                "human": round(float(h[k]), 4),
            }
        )
    return out


def prompt(parent: Path, a: Agreement, inputs: Inputs, variant: int, total: int) -> list[dict[str, str]]:
    from judgekit.rubric.load import builtin_rubrics_dir
    from judgekit.rubric.templates import TemplateSet

    templates = TemplateSet(builtin_rubrics_dir() / "_propose")
    context = {
        "rubric_name": parent.name,
        "files": _rubric_files(parent),
        "examples": _examples(a, inputs),
        "variant": variant,
        "total": total,
    }
    return [
        {"role": "system", "content": templates.render("system.j2", {})},
        {"role": "user", "content": templates.render("user.j2", context)},
    ]


def _parse(text: str | None, allowed: set[str]) -> tuple[dict[str, str], str]:
    """The files of a proposer answer, and its summary; ValueError saying what is wrong."""
    if not text or "{" not in text:
        raise ValueError("the proposer's answer holds no JSON object")
    try:
        data = json.loads(text[text.index("{") : text.rindex("}") + 1])
    except json.JSONDecodeError as err:
        raise ValueError(f"the proposer's answer is not valid JSON ({err.msg})") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not files:
        raise ValueError("the proposer's answer has no 'files' object")
    for name, content in files.items():
        if name not in allowed or not isinstance(content, str):
            raise ValueError(f"the proposer wrote {name!r}, which is not a text file of the parent rubric")
    return files, str(data.get("summary", ""))


def _diff(parent: Path, folder: Path, files: dict[str, str]) -> str:
    lines: list[str] = []
    for name in sorted(files):
        old = (parent / name).read_text().splitlines(keepends=True)
        new = (folder / name).read_text().splitlines(keepends=True)
        lines += difflib.unified_diff(old, new, f"{parent.name}/{name}", f"{folder.name}/{name}")
    return "".join(lines)


def write_variant(parent: Path, folder: Path, text: str | None) -> tuple[str, str | None, str]:
    """Write the variant folder from the answer ``text``: ``(diff, reason it is invalid or None, summary)``."""
    from judgekit.rubric import load_rubric

    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(parent, folder)
    try:
        files, summary = _parse(text, set(_rubric_files(parent)))
    except ValueError as err:
        return "", str(err), ""
    for name, content in files.items():
        (folder / name).write_text(content)
    diff = _diff(parent, folder, files)
    try:
        load_rubric(str(folder))
    except JudgekitError as err:
        return diff, str(err), summary
    return diff, None, summary


async def propose(
    best: Candidate, a: Agreement, inputs: Inputs, proposer: Proposer, where: Path
) -> list[Variant]:
    """Ask the proposer for ``proposer.n`` variants of ``best``'s rubric, written under ``where``."""
    from judgekit.judges.base import JudgeParams
    from judgekit.judges.registry import resolve_judge
    from judgekit.rubric.load import resolve_rubric_dir

    parent = resolve_rubric_dir(best.rubric)
    judge = resolve_judge(proposer.model, proposer.options)
    variants = []
    try:
        for k in range(1, proposer.n + 1):
            messages = prompt(parent, a, inputs, k, proposer.n)
            completion = await judge.complete(messages, JudgeParams(temperature=0.7, seed=k))
            name = f"{best.name}-v{k}"
            folder = where / name
            diff, reason, summary = write_variant(parent, folder, completion.text)
            variants.append(
                Variant(
                    name=name,
                    parent=best.name,
                    folder=str(folder),
                    valid=reason is None,
                    reason=reason,
                    summary=summary,
                    diff=diff,
                )
            )
    finally:
        aclose = getattr(judge, "aclose", None)
        if aclose is not None:
            await aclose()
    return variants
