"""judgekit.lexical.wordnet: building nltk_data/corpora/wordnet from Debian's WordNet 3.0 files, offline.

CI installs Debian's wordnet-base and wordnet-sense-index and runs `python -m judgekit.lexical.wordnet
install`; with CI=true the tests that need them fail instead of skipping.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from judgekit.errors import ConfigError
from judgekit.lexical import wordnet

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _need(condition: bool, what: str) -> None:
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must provide {what} (apt-get install -y wordnet-base wordnet-sense-index)")
        pytest.skip(f"{what} not available")


def _debian_source() -> Path:
    _need(
        (wordnet.DEBIAN_SOURCE / "data.noun").is_file(), f"Debian's WordNet files in {wordnet.DEBIAN_SOURCE}"
    )
    return wordnet.DEBIAN_SOURCE


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "judgekit.lexical.wordnet", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_lexnames_has_45_lines_in_number_order() -> None:
    lines = wordnet.lexnames_text().splitlines()
    assert len(lines) == 45
    for i, line in enumerate(lines):
        number, name, category = line.split("\t")
        assert number == f"{i:02d}"
        assert category == {"noun": "1", "verb": "2", "adj": "3", "adv": "4"}[name.split(".")[0]]
    assert lines[0] == "00\tadj.all\t3"
    assert lines[3] == "03\tnoun.Tops\t1"
    assert lines[44] == "44\tadj.ppl\t3"


def test_lexnames_matches_the_man_page() -> None:
    page = wordnet.LEXNAMES_MAN_PAGE
    _need(page.is_file(), f"the lexnames(5WN) man page ({page})")
    text = gzip.decompress(page.read_bytes()).decode("utf-8", "replace")
    table = [(m.group(1), m.group(2)) for m in re.finditer(r"^(\d\d)\t(\S+)\s*\t", text, flags=re.MULTILINE)]
    assert len(table) == 45
    ours = [tuple(line.split("\t")[:2]) for line in wordnet.lexnames_text().splitlines()]
    assert ours == table


def test_install_builds_a_corpus_nltk_reads(tmp_path: Path) -> None:
    source = _debian_source()
    result = wordnet.install(tmp_path / "nltk_data", source)
    corpus = tmp_path / "nltk_data" / "corpora" / "wordnet"
    assert result.corpus_dir == corpus
    assert result.verified  # synsets('dog') and a METEOR synonym match, checked by install itself
    for name in (*wordnet.REQUIRED_FILES, "lexnames"):
        assert (corpus / name).is_file(), name
    assert (corpus / "lexnames").read_text(encoding="utf-8") == wordnet.lexnames_text()
    assert not [p.name for p in corpus.iterdir() if p.name.endswith(".tmp")]
    assert wordnet.verify_corpus(corpus) is None

    # idempotent and quick: nothing is copied the second time
    start = time.perf_counter()
    again = wordnet.install(tmp_path / "nltk_data", source)
    assert not again.changed and not again.verified
    assert time.perf_counter() - start < 2.0


def test_install_repairs_a_changed_file(tmp_path: Path) -> None:
    source = _debian_source()
    wordnet.install(tmp_path, source, verify=False)
    lexnames = tmp_path / "corpora" / "wordnet" / "lexnames"
    lexnames.write_text("broken\n", encoding="utf-8")
    (tmp_path / "corpora" / "wordnet" / "adv.exc").write_text("x", encoding="utf-8")
    result = wordnet.install(tmp_path, source, verify=False)
    assert set(result.copied) == {"lexnames", "adv.exc"}
    assert lexnames.read_text(encoding="utf-8") == wordnet.lexnames_text()


def test_install_without_source_names_the_apt_packages(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        wordnet.install(tmp_path / "target", tmp_path / "no-such-dir")
    msg = str(err.value)
    assert "wordnet-base" in msg and "wordnet-sense-index" in msg and "\n" not in msg
    assert not (tmp_path / "target").exists()


def test_verify_reports_a_broken_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpora" / "wordnet"
    corpus.mkdir(parents=True)
    (corpus / "lexnames").write_text(wordnet.lexnames_text(), encoding="utf-8")
    problem = wordnet.verify_corpus(corpus)
    assert problem is not None and "\n" not in problem


def test_cli_install_and_status(tmp_path: Path) -> None:
    _debian_source()
    target = tmp_path / "data"
    proc = _cli("install", "--target", str(target))
    assert proc.returncode == 0, proc.stderr
    assert "installed" in proc.stdout and "METEOR matches synonyms" in proc.stdout
    assert "NLTK_DATA" in proc.stdout  # a custom target is not on NLTK's search path
    proc = _cli("install", "--target", str(target))
    assert proc.returncode == 0 and "nothing to do" in proc.stdout


def test_cli_install_error_is_one_line(tmp_path: Path) -> None:
    proc = _cli("install", "--target", str(tmp_path / "t"), "--source", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "apt-get install" in proc.stderr


def test_status_where_nltk_looks() -> None:
    """With WordNet installed (CI does it), status exits 0 and METEOR runs in WordNet mode."""
    proc = _cli("status")
    if proc.returncode != 0:
        _need(False, "WordNet installed where NLTK looks (python -m judgekit.lexical.wordnet install)")
    assert "WordNet 3.0" in proc.stdout and "METEOR mode: wordnet" in proc.stdout
    assert wordnet.find_wordnet() is not None
    assert wordnet.wordnet_available()
    reader = wordnet.load_wordnet()
    assert reader is not None and reader.synsets("dog")
