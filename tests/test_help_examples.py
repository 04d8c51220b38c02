"""Every command's --help shows its examples as a user would paste them: a line that ends in a backslash
continues on the next line (a single backslash in the source string would join the two lines instead)."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.conftest import run_cli

COMMANDS = ["score", "validate", "label", "gate", "lexical", "compare", "report", "probe", "doctor", "rubrics"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_examples_keep_their_line_continuations(command: str) -> None:
    proc = run_cli(command, "--help")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    examples = [line for line in lines if line.lstrip().startswith("judgekit ")]
    assert examples, f"judgekit {command} --help shows no example"
    for line in examples:
        # a joined continuation shows as a run of spaces before the next flag inside one line
        assert not re.search(r"\S {4,}--", line), line
    for line, following in itertools.pairwise(lines):
        if line.endswith(" \\"):
            assert following.startswith("      "), (line, following)
