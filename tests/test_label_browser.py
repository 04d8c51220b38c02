"""`judgekit label` in Debian's chromium, driven with the keyboard only: twenty LaMP-QA items and twenty
pairs labelled, the server killed with SIGKILL and restarted, the page resuming at item 21, the labels file
holding exactly what was typed and `validate --human` reading it; the keys; hostile text; foreign origins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.label_tools import LAMP, LabelServer, http, lamp_server, lamp_set, pair_set, rows, validate_pairs

# The report tests' browser: Debian's chromium with their flags, one per module (this module is skipped
# where chromium is missing, as theirs is).
from tests.test_report import browser  # noqa: F401


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context()
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    context.close()


def _open(page: Any, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200
    page.wait_for_selector("body[data-ready='1']", state="attached")


def _number(page: Any) -> int:
    return int(page.get_attribute("#item", "data-number"))


def _enter_and_wait(page: Any, number: int) -> None:
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.body.dataset.done === '1' || document.getElementById('item').dataset.number === String(n)",
        arg=number + 1,
    )


def test_lamp_qa_twenty_by_keyboard_kill9_resume_at_21(page: Any, tmp_path: Path) -> None:
    dataset, responses = lamp_set(tmp_path / "in", 25)
    labels = tmp_path / "labels.jsonl"
    args = ["--dataset", dataset, "--responses", responses, "--labels", labels, "--annotator", "alice"]
    server = LabelServer(*args)
    _open(page, server.url)
    typed: dict[str, int] = {}
    for k in range(20):
        assert _number(page) == k + 1
        item = page.get_attribute("#item", "data-id")
        aspects = page.eval_on_selector_all("#controls .row", "rows => rows.map(r => r.dataset.aspect)")
        for j, aspect in enumerate(aspects):
            if j:
                page.keyboard.press("Tab" if j % 2 else "ArrowDown")
            value = (k + j) % 3
            page.keyboard.press(str(value))
            typed[f"{item}::{aspect}"] = value
        _enter_and_wait(page, k + 1)
    assert page.inner_text("#count") == "20 / 25 labelled"
    server.kill9()

    assert {r["id"]: r["label"] for r in rows(labels)} == typed
    assert len(rows(labels)) == len(typed)  # nothing doubled
    with LabelServer(*args) as again:
        _open(page, again.url)
        assert _number(page) == 21
        assert page.get_attribute("#item", "data-id") not in {k.split("::")[0] for k in typed}
        assert page.inner_text("#count") == "20 / 25 labelled"
    assert len(rows(labels)) == len(typed)

    judge = tmp_path / "judge.jsonl"
    judge.write_text("".join(json.dumps({"id": k, "score": v}) + "\n" for k, v in typed.items()))
    out = tmp_path / "agreement.json"
    proc = run_cli("validate", "--judge", str(judge), "--human", str(labels), "--scale", "0-2", "--n-boot", "0",
                   "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    dim = json.loads(out.read_text())["dimensions"][0]
    assert dim["n_used"] == len(typed) and dim["correlations"]["pooled"]["pearson"]["value"] == pytest.approx(
        1
    )


def test_pairs_twenty_by_keyboard_kill9_resume_at_21(page: Any, tmp_path: Path) -> None:
    dataset, side_a, side_b = pair_set(tmp_path / "in", 24)
    labels = tmp_path / "labels.jsonl"
    args = ["--rubric", "pairwise", "--dataset", dataset, "--responses-a", side_a, "--responses-b", side_b,
            "--labels", labels, "--annotator", "bob"]  # fmt: skip
    texts_a = json.loads(side_a.read_text())
    server = LabelServer(*args)
    _open(page, server.url)
    typed: dict[str, str] = {}
    orders: dict[str, str] = {}
    for k in range(20):
        item = page.get_attribute("#item", "data-id")
        first = page.inner_text("#responses .response:first-child p.text")
        first_is_a = first == texts_a[item]
        key = "abt"[k % 3]
        page.keyboard.press(key)
        orders[item] = "1" if first_is_a else "2"
        typed[item] = {"a": orders[item], "b": "2" if first_is_a else "1", "t": "tie"}[key]
        _enter_and_wait(page, k + 1)
    server.kill9()
    written = rows(labels)
    assert {r["id"]: r["label"] for r in written} == typed and len(written) == 20
    assert {r["id"]: r["order"] for r in written} == orders
    assert set(orders.values()) == {"1", "2"}
    with LabelServer(*args) as again:
        _open(page, again.url)
        assert _number(page) == 21 and page.get_attribute("#item", "data-id") not in typed

    report = validate_pairs(tmp_path, labels, list(typed))
    assert report["n_used"] == 20
    assert report["figures"]["accuracy"]["value"] == pytest.approx(list(typed.values()).count("1") / 20)


def test_back_undo_skip_note_and_help_keys(page: Any, tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    with lamp_server(tmp_path / "in", 4, labels) as s:
        _open(page, s.url)
        first = page.get_attribute("#item", "data-id")
        n = page.eval_on_selector_all("#controls .row", "r => r.length")
        page.keyboard.press("Enter")  # incomplete: refused, nothing written
        assert "every aspect" in page.inner_text("#status") and not labels.read_text()
        page.keyboard.press("n")
        page.keyboard.type("unsure about s and u")  # keys typed into the note are text, not commands
        page.keyboard.press("Escape")
        for _ in range(n):
            page.keyboard.press("2")
            page.keyboard.press("Tab")
        _enter_and_wait(page, 1)
        assert rows(labels)[0]["note"] == "unsure about s and u"
        page.keyboard.press("ArrowLeft")
        page.wait_for_function("id => document.getElementById('item').dataset.id === id", arg=first)
        assert page.input_value("#note") == "unsure about s and u"
        assert (
            page.eval_on_selector_all("#controls .opt.on", "o => o.map(x => x.textContent)") == ["2: 2"] * n
        )
        page.keyboard.press("s")
        page.wait_for_function("() => document.getElementById('item').dataset.number === '2'")
        page.keyboard.press("s")
        page.wait_for_function("() => document.getElementById('item').dataset.number === '3'")
        page.keyboard.press("u")  # undo the last submit: item 1's labels are withdrawn and it shows again
        page.wait_for_function("id => document.getElementById('item').dataset.id === id", arg=first)
        assert page.eval_on_selector_all("#controls .opt.on", "o => o.length") == 0
        assert page.inner_text("#count") == "0 / 4 labelled"
        assert page.is_hidden("#keys")
        page.keyboard.press("?")
        assert page.is_visible("#keys") and "undo the last submit" in page.inner_text("#keys")
    assert [r["label"] for r in rows(labels)] == [2] * n + [None] * n


HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold?</b>'


def test_hostile_text_shows_as_text(page: Any, tmp_path: Path) -> None:
    dataset, responses = lamp_set(tmp_path / "in", 2)
    data = json.loads(dataset.read_text())
    for row in data:
        row["question"] = "Q " + HOSTILE
        row["rubric_aspects"][0]["aspect"] = "A " + HOSTILE
    dataset.write_text(json.dumps(data))
    responses.write_text(json.dumps({row["id"]: "R " + HOSTILE for row in data}))
    labels = tmp_path / "labels.jsonl"
    with LabelServer(
        "--dataset", dataset, "--responses", responses, "--labels", labels, "--annotator", "a"
    ) as s:
        _open(page, s.url)
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.__pwned") is None
        assert page.inner_text("#responses p.text") == "R " + HOSTILE
        assert page.inner_text("#fields p.text >> nth=0") == "Q " + HOSTILE
        assert page.inner_text("#controls .aspect >> nth=0") == "A " + HOSTILE
        assert page.eval_on_selector_all("main img, main script, main b", "e => e.length") == 0


def test_browser_without_token_or_from_another_origin_is_refused(page: Any, tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    with lamp_server(tmp_path / "in", 2, labels) as s:
        assert page.goto(s.origin + "/").status == 403
        assert page.goto(s.url + "label.js").status == 200
        assert page.goto(s.origin + "/label.js").status == 403
        page.route(
            "http://evil.test/", lambda route: route.fulfill(body="<p>hi</p>", content_type="text/html")
        )
        page.goto("http://evil.test/")
        _, view = http(s.url + "api/item")  # a valid submit: only the origin is wrong
        body = json.dumps({"pos": view["pos"], "id": view["item"]["id"], "note": "",
                           "labels": {a["aspect"]: "1" for a in view["item"]["aspects"]}})  # fmt: skip
        outcomes = page.evaluate(
            """async ([url, body]) => {
                const out = [];
                for (const init of [
                    {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, body},
                    {method: 'POST', headers: {'Content-Type': 'application/json'}, body},
                ]) {
                    try { const r = await fetch(url, init); out.push(r.type + ' ' + r.status); }
                    catch (e) { out.push('blocked'); }
                }
                return out;
            }""",
            [s.url + "api/label", body],
        )
        # Refused either way: by the browser (CORS preflight, private network access) or by the server (403
        # to a foreign Origin, tested over HTTP in test_label.py); an opaque answer reveals nothing.
        assert set(outcomes) <= {"blocked", "opaque 0"} and outcomes[1] == "blocked"
    assert not labels.read_text()


def test_show_judge_shows_score_and_raw_answer_hidden_by_default(
    page: Any, tmp_path: Path, scripted_server: Any
) -> None:
    from tests.score_run import log_rows, score_args

    proc = run_cli(*score_args(tmp_path, api_base=scripted_server.base_url), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    scores = tmp_path / "s.json"
    completions: dict[str, list[str]] = {}
    for row in log_rows(tmp_path):
        if row.get("type") == "call":
            completions.setdefault(row["id"], []).append(row["completion"])
    args = ["--dataset", str(LAMP / "dataset.json"), "--responses", str(LAMP / "responses.json"),
            "--scores", str(scores), "--annotator", "a"]  # fmt: skip
    with LabelServer(*args, "--labels", tmp_path / "shown.jsonl", "--show-judge") as s:
        _open(page, s.url)
        item = page.get_attribute("#item", "data-id")
        assert page.is_visible("#judge")
        want = json.loads(scores.read_text())
        q = next(q for q in want["per_question_scores"] if q["id"] == item)
        first = page.inner_text("#judge p >> nth=0")
        assert first.startswith("score: ") and float(first.split()[1]) == q["score"]
        assert (
            page.eval_on_selector_all("#judge pre.raw", "p => p.map(x => x.textContent)") == completions[item]
        )
    with LabelServer(*args, "--labels", tmp_path / "hidden.jsonl") as s:
        _open(page, s.url)
        assert page.is_hidden("#judge") and page.inner_text("#judge") == ""
