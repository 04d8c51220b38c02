"""Synthetic human labels and scripted judges of known quality for ``judgekit select`` (tests and benchmark).

Every item has a true label 1-5 (seeded); the human label is the truth. Each judge is a scripted server that
answers ``{"score": N}`` with N from its error pattern applied to the truth of the item named in the prompt.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.server import Reply, ScriptedServer, user_message

KEY_ENV = "JK_SELECT_TEST_KEY"
_ITEM = re.compile(r"Item (i\d+) asks")


def truth(n: int, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    return {f"i{k:03d}": rng.randint(1, 5) for k in range(n)}


def text_of(item: str) -> str:
    return f"Item {item} asks about topic {item[1:]}."


def write_inputs(folder: Path, labels: dict[str, int], groups: int | None = None) -> dict[str, Path]:
    """dataset.json, responses.json and labels.csv (``id,label`` plus ``doc`` when ``groups``)."""
    dataset = [{"id": i, "input": text_of(i)} for i in labels]
    responses = {i: f"An answer to item {i}." for i in labels}
    rows = ["id,doc,label" if groups else "id,label"]
    for k, (i, v) in enumerate(labels.items()):
        rows.append(f"{i},d{k % groups},{v}" if groups else f"{i},{v}")
    paths = {
        "dataset": folder / "dataset.json",
        "responses": folder / "responses.json",
        "human": folder / "labels.csv",
    }
    paths["dataset"].write_text(json.dumps(dataset))
    paths["responses"].write_text(json.dumps(responses))
    paths["human"].write_text("\n".join(rows) + "\n")
    return paths


def item_in(request: dict[str, Any]) -> str | None:
    m = _ITEM.search(user_message(request))
    return m.group(1) if m else None


def exact(item: str, t: int) -> int:
    return t


def off_by_one_every(k: int) -> Callable[[str, int], int]:
    """The truth, except every k-th item (by number) is one point off (towards the middle)."""

    def pattern(item: str, t: int) -> int:
        return t if int(item[1:]) % k else (t - 1 if t > 3 else t + 1)

    return pattern


def noise(item: str, t: int) -> int:
    """No relation to the truth: a fixed pseudo-random score per item."""
    return 1 + (int(item[1:]) * 7919 + 13) % 11 % 5


def script_judge(server: ScriptedServer, labels: dict[str, int], pattern: Callable[[str, int], int]) -> None:
    def reply(request: dict[str, Any]) -> Reply:
        item = item_in(request)
        score = pattern(item, labels[item]) if item else 3
        return Reply(content=json.dumps({"score": score}))

    server.add_rule(None, reply)


def candidates_yaml(path: Path, entries: list[dict[str, Any]]) -> Path:
    """A candidates file: each entry ``{name, server, price?, ...}`` becomes a candidate on that server."""
    import yaml

    out = []
    for e in entries:
        cand = {
            "name": e["name"],
            "judge": "openai/judge",
            "api_base": e["server"].base_url,
            "api_key_env": KEY_ENV,
            "rubric": "criteria",
        }
        if "price" in e:
            cand["price"] = {"input": e["price"], "output": e["price"]}
        cand.update(e.get("extra", {}))
        out.append(cand)
    path.write_text(yaml.safe_dump({"candidates": out}, sort_keys=False))
    return path


def items_called(server: ScriptedServer) -> set[str]:
    return {i for c in server.calls if (i := item_in(c["request"])) is not None}
