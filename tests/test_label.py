"""`judgekit label` over HTTP: rows on disk, resume after kill -9, two annotators at once, the token, Origin
and Host checks, bad input, --status, and `validate --human` reading the file as written."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pytest
from scipy import stats as sps

from tests.conftest import assert_clean_error, run_cli
from tests.label_tools import LAMP, LabelServer, http, lamp_set, pair_set, rows, validate_pairs

ROW_KEYS = {"id", "annotator", "label", "order", "note", "time", "probability"}


def _lamp_args(folder: Path, n: int, labels: Path, annotator: str, *extra: str) -> list[str]:
    dataset, responses = lamp_set(folder, n)
    return ["--dataset", str(dataset), "--responses", str(responses), "--labels", str(labels),
            "--annotator", annotator, *extra]  # fmt: skip


def _label_all(view: dict[str, Any], value: int) -> dict[str, Any]:
    """A submit giving every aspect of the item shown ``value``."""
    item = view["item"]
    return {"pos": view["pos"], "id": item["id"], "labels": {a["aspect"]: str(value) for a in item["aspects"]},
            "note": f"note on {item['id']}"}  # fmt: skip


def _submit(server: LabelServer, view: dict[str, Any], value: int) -> dict[str, Any]:
    status, nxt = http(server.url + "api/label", _label_all(view, value), origin=server.origin)
    assert status == 200, nxt
    return nxt


def test_rows_resume_after_kill9_and_validate_reads_them(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    args = _lamp_args(tmp_path / "in", 12, labels, "alice")
    server = LabelServer(*args)
    status, view = http(server.url + "api/item")
    assert status == 200 and view["number"] == 1 and view["progress"] == {"labelled": 0, "target": 12}
    ids = [r["id"] for r in json.loads((tmp_path / "in" / "dataset.json").read_text())]
    for answer in (json.dumps(view), http(server.url)[1], http(server.url + "api/state")[1]):
        assert sum(i in str(answer) for i in ids) <= 1  # one item at a time: never the dataset
    seen, aspects = [], {}
    for k in range(5):
        seen.append(view["item"]["id"])
        aspects[view["item"]["id"]] = [a["aspect"] for a in view["item"]["aspects"]]
        view = _submit(server, view, k % 3)
    sixth = view["item"]["id"]
    assert view["number"] == 6 and view["progress"]["labelled"] == 5
    server.kill9()  # no chance to flush anything: the rows must already be on disk

    written = rows(labels)
    assert [r["id"].split("::")[0] for r in written] == [i for i in seen for _ in aspects[i]]
    for r in written:
        assert set(r) == ROW_KEYS and r["annotator"] == "alice" and r["order"] is None
        assert r["probability"] == 1.0 and r["note"] == f"note on {r['id'].split('::')[0]}"
    expected = {f"{i}::{a}": k % 3 for k, i in enumerate(seen) for a in aspects[i]}
    assert {r["id"]: r["label"] for r in written} == expected

    with LabelServer(*args) as again:
        status, view = http(again.url + "api/item")
        assert view["number"] == 6 and view["item"]["id"] == sixth and view["progress"]["labelled"] == 5
    assert len(rows(labels)) == len(written)  # looking is not labelling: nothing added, nothing doubled

    judge = tmp_path / "judge.jsonl"  # the judge's aspect scores: the human label, or 2 where it said 0
    judge.write_text("".join(json.dumps({"id": k, "score": v or 2}) + "\n" for k, v in expected.items()))
    out = tmp_path / "agreement.json"
    proc = run_cli("validate", "--judge", str(judge), "--human", str(labels), "--scale", "0-2",
                   "--n-boot", "0", "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    dim = json.loads(out.read_text())["dimensions"][0]
    keys = sorted(expected)
    want = sps.pearsonr([expected[k] or 2 for k in keys], [expected[k] for k in keys]).statistic
    assert dim["n_used"] == len(expected)
    assert dim["correlations"]["pooled"]["pearson"]["value"] == pytest.approx(want)


def test_changed_label_and_undo_keep_history_last_counts(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    with LabelServer(*_lamp_args(tmp_path / "in", 4, labels, "alice")) as server:
        _, first = http(server.url + "api/item")
        second = _submit(server, first, 0)
        _, back = http(server.url + f"api/item?before={second['pos']}")
        assert back["item"]["id"] == first["item"]["id"]
        assert set(back["saved"]["labels"].values()) == {0}
        _submit(server, back, 2)  # a changed label is a new row
        third = _submit(server, second, 1)
        status, undone = http(server.url + "api/undo", {}, origin=server.origin)
        assert status == 200 and undone["item"]["id"] == second["item"]["id"] and undone["saved"] is None
        assert third["progress"]["labelled"] == 2 and undone["progress"]["labelled"] == 1
    history = rows(labels)
    n1, n2 = len(first["item"]["aspects"]), len(second["item"]["aspects"])
    assert [r["label"] for r in history] == [0] * n1 + [2] * n1 + [1] * n2 + [None] * n2
    proc = run_cli("label", "--status", "--labels", str(labels))
    assert proc.returncode == 0, proc.stderr
    assert f"{n1} labels on 1 items" in proc.stdout  # the withdrawn item is gone; the changed one counts once
    human = tmp_path / "j.jsonl"
    human.write_text("".join(json.dumps({"id": r["id"], "score": 2}) + "\n" for r in history[:n1]))
    out = tmp_path / "a.json"
    proc = run_cli("validate", "--judge", str(human), "--human", str(labels), "--scale", "0-2", "--n-boot", "0",
                   "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    dim = json.loads(out.read_text())["dimensions"][0]
    assert dim["n_used"] == n1 and dim["bias"]["mean_offset"]["value"] == 0  # the last label (2) counts


def test_token_origin_host_and_content_type_are_checked(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    with LabelServer(*_lamp_args(tmp_path / "in", 3, labels, "alice")) as server:
        base = server.origin
        token = server.url.rstrip("/").rsplit("/", 1)[1]
        assert http(server.url)[0] == 200
        for path in ("/", "/label.js", "/api/state", "/api/item", "/x" + token + "/", "/" + token[:-1] + "/"):
            status, text = http(base + path)
            assert status == 403, path
            assert token not in str(text)
        _, view = http(server.url + "api/item")
        body = _label_all(view, 1)
        assert http(base + "/api/label", body, origin=base)[0] == 403
        assert http(server.url + "api/label", body, origin="http://evil.example")[0] == 403
        assert http(server.url + "api/label", body, origin=base.replace("127.0.0.1", "localhost"))[0] == 403
        assert http(server.url + "api/label", json.dumps(body).encode(), content_type="text/plain",
                    origin=base)[0] == 403  # fmt: skip
        assert http(server.url + "api/item", host="evil.example:80")[0] == 403
        assert not labels.read_text()  # nothing refused was written
        assert http(server.url + "api/label", body, origin=base)[0] == 200
        assert len(rows(labels)) == len(view["item"]["aspects"])
        code, err = server.stop()  # Ctrl-C ends a session normally
        assert code == 0 and f"stopped; labels are in {labels}" in err and "Traceback" not in err


def test_non_loopback_host_needs_allow_remote(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    args = _lamp_args(tmp_path / "in", 3, labels, "alice")
    proc = run_cli("label", *args, "--host", "0.0.0.0")
    assert_clean_error(proc, "--host 0.0.0.0", "--allow-remote")
    # 192.0.2.1 (TEST-NET-1) is on no interface: the warning comes first, then the bind fails cleanly.
    proc = run_cli("label", *args, "--host", "192.0.2.1", "--allow-remote")
    assert "warning: listening on 192.0.2.1, not a loopback address" in proc.stderr
    assert_clean_error(proc, "cannot listen on 192.0.2.1")
    assert not labels.exists()


def test_two_annotators_at_once_lose_and_interleave_nothing(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    n = 30
    folder = tmp_path / "in"
    servers = [LabelServer(*_lamp_args(folder, n, labels, who, "--overlap", "1")) for who in ("ann", "bob")]
    try:
        done: dict[str, list[str]] = {}

        def label_everything(server: LabelServer, who: str) -> None:
            _, view = http(server.url + "api/item")
            done[who] = []
            while not view["done"]:
                done[who].append(view["item"]["id"])
                view = _submit(server, view, len(done[who]) % 3)

        threads = [
            threading.Thread(target=label_everything, args=(s, w))
            for s, w in zip(servers, ("ann", "bob"), strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        for s in servers:
            s.stop()
    assert sorted(done["ann"]) == sorted(done["bob"]) and len(done["ann"]) == n
    assert done["ann"] != done["bob"]  # each annotator has their own order
    lines = labels.read_text().splitlines()
    parsed = [json.loads(line) for line in lines]  # every line whole
    keys = [(r["id"], r["annotator"]) for r in parsed]
    assert len(keys) == len(set(keys))  # nothing doubled
    per_item = {i: len([r for r in parsed if r["id"].startswith(i + "::") and r["annotator"] == "ann"])
                for i in done["ann"]}  # fmt: skip
    assert len(parsed) == 2 * sum(per_item.values())  # nothing lost
    # Each submit's rows sit together: one item's aspects of one annotator are never split by another's.
    runs = [(r["id"].split("::")[0], r["annotator"]) for r in parsed]
    blocks = [runs[0]] + [b for a, b in itertools.pairwise(runs) if a != b]
    assert len(blocks) == 2 * n


def test_overlap_zero_splits_the_items_between_annotators(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    folder = tmp_path / "in"
    with LabelServer(*_lamp_args(folder, 10, labels, "ann", "--overlap", "0")) as ann:
        _, view = http(ann.url + "api/item")
        taken = []
        for _ in range(4):
            taken.append(view["item"]["id"])
            view = _submit(ann, view, 1)
        with LabelServer(*_lamp_args(folder, 10, labels, "bob", "--overlap", "0")) as bob:
            _, bview = http(bob.url + "api/item")
            assert bview["progress"] == {"labelled": 0, "target": 6}
            seen = []
            while not bview["done"]:
                seen.append(bview["item"]["id"])
                bview = http(bob.url + f"api/item?after={bview['pos']}")[1]
            assert len(seen) == 6 and not set(seen) & set(taken)


def test_pair_labels_use_the_datasets_numbering_and_record_the_order(tmp_path: Path) -> None:
    dataset, a, b = pair_set(tmp_path / "in", 12)
    labels = tmp_path / "labels.jsonl"
    args = ["--rubric", "pairwise", "--dataset", dataset, "--responses-a", a, "--responses-b", b,
            "--labels", labels, "--annotator", "alice"]  # fmt: skip
    side_a = json.loads(a.read_text())
    firsts = []
    with LabelServer(*args) as server:
        _, view = http(server.url + "api/item")
        while not view["done"]:
            shown = view["item"]["responses"]
            assert {r["number"] for r in shown} == {"1", "2"}
            number_of_a = "1" if shown[0]["text"] == side_a[view["item"]["id"]] else "2"
            assert shown[0]["number"] == number_of_a
            firsts.append(shown[0]["number"])
            body = {
                "pos": view["pos"],
                "id": view["item"]["id"],
                "labels": {"": shown[0]["number"]},
                "note": "",
            }
            status, view = http(server.url + "api/label", body, origin=server.origin)
            assert status == 200
    written = rows(labels)
    assert [r["label"] for r in written] == firsts and [r["order"] for r in written] == firsts
    assert {"1", "2"} <= set(firsts)  # the order is randomised per item
    report = validate_pairs(tmp_path, labels, [r["id"] for r in written])
    assert report["n_used"] == 12
    assert report["figures"]["accuracy"]["value"] == pytest.approx(firsts.count("1") / 12)


def test_torn_last_row_is_cut_and_earlier_rows_kept(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    args = _lamp_args(tmp_path / "in", 3, labels, "alice")
    with LabelServer(*args) as server:
        _, view = http(server.url + "api/item")
        _submit(server, view, 2)
    whole = labels.read_text()
    labels.write_text(whole + '{"id": "lqa-002-01::x", "annot')  # a writer killed mid-row
    with LabelServer(*args) as server:
        _, again = http(server.url + "api/item")
        assert again["number"] == 2
    assert labels.read_text() == whole


def _bad(tmp_path: Path, *args: str | Path) -> Any:
    proc = run_cli("label", *(str(a) for a in args))
    assert "open http" not in proc.stdout
    return proc


def test_bad_input_stops_before_serving(tmp_path: Path) -> None:
    dataset, responses = lamp_set(tmp_path / "in", 3)
    labels = tmp_path / "labels.jsonl"
    base = ["--dataset", dataset, "--responses", responses, "--labels", labels, "--annotator", "a"]
    assert_clean_error(_bad(tmp_path, *base[:1], tmp_path / "nope.json", *base[2:]), "nope.json")
    assert_clean_error(_bad(tmp_path, *base[:-4], "--labels", dataset, "--annotator", "a"), "--dataset")
    assert_clean_error(_bad(tmp_path, *base, "--rubric", "pairwise"), "--responses-a")
    assert_clean_error(_bad(tmp_path, *base, "--select", "active"), "--scores")
    assert_clean_error(_bad(tmp_path, *base, "--overlap", "1.5"), "--overlap")
    assert_clean_error(_bad(tmp_path, *base, "--show-judge"), "--scores")
    assert_clean_error(_bad(tmp_path, *base[:-2]), "--annotator")
    broken = tmp_path / "broken.json"
    broken.write_text(dataset.read_text()[:-3])
    assert_clean_error(_bad(tmp_path, "--dataset", broken, *base[2:]), "invalid JSON")
    labels.write_text(json.dumps({"id": "other::x", "annotator": "a", "label": 1, "time": "t"}) + "\n")
    assert_clean_error(_bad(tmp_path, *base), "'other::x'", "not an item")
    assert labels.read_text().count("\n") == 1  # left as it was
    assert_clean_error(run_cli("label", "--status", "--labels", str(tmp_path / "none.jsonl")), "none.jsonl")


def test_status_reports_progress_and_alpha_on_the_overlap(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    table = {  # label id -> annotator -> label; u4 has one annotator (not in the overlap)
        "q1::a": {"ann": 0, "bob": 0}, "q1::b": {"ann": 2, "bob": 1}, "q2::a": {"ann": 1, "bob": 1},
        "q2::b": {"ann": 2, "bob": 2}, "q3::a": {"ann": 0, "bob": 1}, "q4::a": {"ann": 2},
    }  # fmt: skip
    lines = [json.dumps({"id": lid, "annotator": who, "label": v, "order": None, "note": "", "time": "t",
                         "probability": 1.0})
             for lid, by in table.items() for who, v in by.items()]  # fmt: skip
    labels.write_text("\n".join(lines) + "\n")
    proc = run_cli("label", "--status", "--labels", str(labels))
    assert proc.returncode == 0, proc.stderr
    shared = [lid for lid, by in table.items() if len(by) == 2]
    data = np.array([[table[u][c] for u in shared] for c in ("ann", "bob")], dtype=float)
    for level in ("nominal", "ordinal", "interval"):
        want = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert f"{level} {want:.3f}" in proc.stdout
    assert "overlap: 5 labels on 3 items by 2 annotators" in proc.stdout
    assert [ln.split()[:4] for ln in proc.stdout.splitlines() if ln.strip().startswith(("ann ", "bob "))] == [
        ["ann", "4", "6", "6"], ["bob", "3", "5", "5"]]  # fmt: skip


EXAMPLE = LAMP
BASELINE = EXAMPLE.parent / "ci" / "baseline.json"  # the example set's score file (aspect scores 0-2)


def _example_args(labels: Path, *extra: str) -> list[str]:
    return ["--dataset", str(EXAMPLE / "dataset.json"), "--responses", str(EXAMPLE / "responses.json"),
            "--labels", str(labels), "--annotator", "alice", *extra]  # fmt: skip


def test_sample_writes_its_selection_probability(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    with LabelServer(*_example_args(labels, "--sample", "3", "--seed", "7")) as server:
        _, view = http(server.url + "api/item")
        assert view["progress"]["target"] == 3
        _submit(server, view, 1)
    assert {r["probability"] for r in rows(labels)} == {0.5}  # 3 of the 6 example items, drawn uniformly


def test_show_judge_gives_the_score_files_values(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    baseline = {q["id"]: q for q in json.loads(BASELINE.read_text())["per_question_scores"]}
    with LabelServer(*_example_args(labels, "--scores", str(BASELINE), "--show-judge")) as server:
        _, view = http(server.url + "api/item")
        q = baseline[view["item"]["id"]]
        assert view["judge"]["score"] == q["score"]
        assert [(d["aspect"], d["score"]) for d in view["judge"]["details"]] == [
            (a["aspect"], a["score"]) for a in q["details"]
        ]
    with LabelServer(*_example_args(tmp_path / "hidden.jsonl", "--scores", str(BASELINE))) as server:
        _, view = http(server.url + "api/item")
        assert "judge" not in view  # hidden by default: no anchoring


def test_selection_needing_what_the_score_file_lacks_stops_before_serving(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    # The baseline was scored with one sample per aspect and no log-probabilities: no uncertainty to use.
    assert_clean_error(_bad(tmp_path, *_example_args(labels, "--scores", str(BASELINE), "--select", "active",
                                                     "--sample", "2")), "uncertainty")  # fmt: skip
    assert_clean_error(_bad(tmp_path, *_example_args(labels, "--scores", str(BASELINE), "--select", "active")),
                       "--sample")  # fmt: skip
    assert not labels.exists()


def test_stratified_selection_labels_equal_counts_per_judge_bin(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    # Question scores of the baseline: 0.333, 0, 0.5, 0.875, 0.5, 1 -> five distinct values, five bins; a
    # budget of 5 takes one item per bin, so lqa-003 and lqa-005 (both 0.5) share a bin: each drawn w.p. 1/2.
    with LabelServer(*_example_args(labels, "--scores", str(BASELINE), "--select", "stratified", "--sample",
                                    "5")) as server:  # fmt: skip
        _, view = http(server.url + "api/item")
        while not view["done"]:
            view = _submit(server, view, 1)
    prob = {r["id"].split("::")[0]: r["probability"] for r in rows(labels)}
    assert len(prob) == 5 and {"lqa-001", "lqa-002", "lqa-004", "lqa-006"} <= prob.keys()
    assert {k: v for k, v in prob.items() if k in ("lqa-003", "lqa-005")} in (
        {"lqa-003": 0.5},
        {"lqa-005": 0.5},
    )
    assert all(prob[k] == 1.0 for k in ("lqa-001", "lqa-002", "lqa-004", "lqa-006"))


def test_report_shows_progress_agreement_and_judge_beside_humans(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    table = {  # two annotators on lqa-001's aspects; the judge (baseline) gave 2, 0, 0
        "lqa-001::Gradual return plan": {"ann": 2, "bob": 1},
        "lqa-001::Knee care": {"ann": 0, "bob": 0},
        "lqa-001::Counteracting desk posture": {"ann": 2, "bob": 2},
        "lqa-003::Honest but brief explanation": {"ann": 1},  # judge 0
    }
    labels.write_text("".join(
        json.dumps({"id": lid, "annotator": who, "label": v, "order": None, "note": "<b>n</b>", "time": "t",
                    "probability": 1.0}) + "\n"
        for lid, by in table.items() for who, v in by.items()))  # fmt: skip
    out = tmp_path / "labels.html"
    proc = run_cli("report", str(labels), "--scores", str(BASELINE), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    html = out.read_text()
    assert "Labels file: labels.jsonl" in html and "Progress per annotator" in html
    data = np.array([[2, 0, 2], [1, 0, 2]], dtype=float)
    want = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
    assert f"{want:.3f}" in html
    # judge vs human mean: 2 vs 1.5, 0 vs 0, 0 vs 2, 0 vs 1 -> mean |d| = (0.5 + 0 + 2 + 1) / 4 = 0.875
    assert "0.875" in html and "50.0%" in html  # within 0.5 of the humans: 2 of 4
    assert "lqa-001::Counteracting desk posture" in html
    proc = run_cli("report", str(labels), "--scores", str(tmp_path / "missing.json"), "--out", str(out))
    assert_clean_error(proc, "missing.json")


def test_reference_rubric_keys_pick_its_values_in_order(tmp_path: Path) -> None:
    ref = EXAMPLE.parent / "reference"
    labels = tmp_path / "labels.jsonl"
    args = ["--rubric", "reference", "--dataset", str(ref / "dataset.json"), "--responses",
            str(ref / "responses.json"), "--labels", str(labels), "--annotator", "a"]  # fmt: skip
    with LabelServer(*args) as server:
        _, state = http(server.url + "api/state")
        # rubrics/reference: verdict enum [correct, partially_correct, incorrect], score_map 1 / 0.5 / 0
        assert [(o["key"], o["text"], o["value"]) for o in state["options"]] == [
            ("1", "correct", 1.0), ("2", "partially_correct", 0.5), ("3", "incorrect", 0.0)]  # fmt: skip
        _, view = http(server.url + "api/item")
        assert [f["name"] for f in view["item"]["fields"]] == ["input", "reference"]
        for key in ("2", "3", "1"):
            body = {"pos": view["pos"], "id": view["item"]["id"], "labels": {"": key}, "note": ""}
            status, view = http(server.url + "api/label", body, origin=server.origin)
            assert status == 200
        bad = {"pos": view["pos"], "id": view["item"]["id"], "labels": {"": "4"}, "note": ""}
        assert http(server.url + "api/label", bad, origin=server.origin)[0] == 400
    assert [r["label"] for r in rows(labels)] == [0.5, 0, 1]


def test_multi_turn_pairs_show_earlier_turns(tmp_path: Path) -> None:
    def conversation(answers: list[str]) -> list[dict[str, str]]:
        asks = ["Plan a trip to Rome.", "Now make it two days."]
        return [m for q, a in zip(asks, answers, strict=True)
                for m in ({"role": "user", "content": q}, {"role": "assistant", "content": a})]  # fmt: skip

    rows_in = [{"question_id": 81, "model_a": "x", "model_b": "y", "turn": 2, "winner": "model_a",
                "conversation_a": conversation(["A1", "A2"]), "conversation_b": conversation(["B1", "B2"])}]  # fmt: skip
    dataset = tmp_path / "mt.json"
    dataset.write_text(json.dumps(rows_in))
    labels = tmp_path / "labels.jsonl"
    args = ["--rubric", "pairwise", "--dataset", str(dataset), "--labels", str(labels), "--annotator", "a"]
    with LabelServer(*args) as server:
        _, view = http(server.url + "api/item")
    shown = {r["number"]: r for r in view["item"]["responses"]}
    assert view["item"]["fields"] == [{"name": "input", "text": "Now make it two days."}]
    assert shown["1"]["text"] == "A2" and shown["2"]["text"] == "B2"
    assert shown["1"]["history"] == [{"role": "user", "content": "Plan a trip to Rome."},
                                     {"role": "assistant", "content": "A1"}]  # fmt: skip
    assert shown["2"]["history"][1] == {"role": "assistant", "content": "B1"}


def test_sampled_labels_feed_validate_ppi_as_written(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    with LabelServer(*_example_args(labels, "--sample", "3")) as server:
        _, view = http(server.url + "api/item")
        while not view["done"]:
            view = _submit(server, view, 2)
    written = rows(labels)
    out = tmp_path / "ppi.json"
    proc = run_cli("validate", "--judge", str(BASELINE), "--level", "aspect", "--human", str(labels),
                   "--scale", "0-2", "--ppi", "--allow-missing", "--n-boot", "0", "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ppi = json.loads(out.read_text())["dimensions"][0]["ppi"]
    n_aspects = sum(len(q["details"]) for q in json.loads(BASELINE.read_text())["per_question_scores"])
    assert ppi["n_labelled"] == len(written) and ppi["n_unlabelled"] == n_aspects - len(written)
    assert ppi["human_only"]["estimate"] == 2.0  # every label given was 2


def test_sigterm_stops_with_143_and_keeps_the_labels(tmp_path: Path) -> None:
    import signal

    labels = tmp_path / "labels.jsonl"
    server = LabelServer(*_lamp_args(tmp_path / "in", 3, labels, "alice"))
    _, view = http(server.url + "api/item")
    _submit(server, view, 1)
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(30)
    code, err = server.stop()  # already ended: only collects its output
    assert code == 143 and "Traceback" not in err
    assert [r["label"] for r in rows(labels)] == [1] * len(view["item"]["aspects"])


def test_status_of_a_damaged_file_is_a_one_line_error(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    good = json.dumps({"id": "q1", "annotator": "a", "label": 1, "time": "t"})
    labels.write_text(good + "\n{not json\n")
    assert_clean_error(run_cli("label", "--status", "--labels", str(labels)), "line 2", "invalid JSON")
    labels.write_text(good + "\n" + json.dumps({"id": "q2", "label": 1}) + "\n")
    assert_clean_error(run_cli("label", "--status", "--labels", str(labels)), "line 2", "'annotator'")
