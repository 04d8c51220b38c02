"""WordNet for METEOR's synonym stage, found where NLTK looks and installable without internet.

METEOR (``nltk.translate.meteor_score``) matches words in three stages: exact, Porter stem, and
WordNet synonyms. The last stage needs NLTK's ``wordnet`` corpus. On a machine with internet,
``python -c "import nltk; nltk.download('wordnet')"`` fetches it. On a machine that reaches only
package registries, Debian's ``wordnet-base`` and ``wordnet-sense-index`` packages ship the same
WordNet 3.0 database in ``/usr/share/wordnet``; NLTK reads it once the files sit in an
``nltk_data/corpora/wordnet`` folder together with a ``lexnames`` file, which Debian does not ship.
``lexnames`` lists the 45 lexicographer files documented in the lexnames(5WN) man page that
``wordnet-base`` ships; :data:`LEXNAMES` holds that list and :func:`install` writes it.

Command line::

    apt-get install -y wordnet-base wordnet-sense-index
    python -m judgekit.lexical.wordnet install [--target DIR]   # default: <sys.prefix>/nltk_data
    python -m judgekit.lexical.wordnet status

``install`` is idempotent: files already in place (same size and modification time) are not
copied again, and a second run takes milliseconds. It also builds judgekit's synonym index
(:mod:`judgekit.lexical.wordnet_index`), which METEOR reads instead of loading NLTK's reader
(:func:`meteor_wordnet`); a run that finds it missing, stale or corrupt builds it again.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judgekit.errors import ConfigError, JudgekitError

DEBIAN_SOURCE = Path("/usr/share/wordnet")
DEBIAN_COPYRIGHT = Path("/usr/share/doc/wordnet-base/copyright")
LEXNAMES_MAN_PAGE = Path("/usr/share/man/man5/lexnames.5WN.gz")
APT_HINT = "apt-get install -y wordnet-base wordnet-sense-index"

# The database files NLTK's WordNetCorpusReader opens. index.sense (from wordnet-sense-index) is only
# used for sense-key lookups (lemma_from_key); METEOR does not need it, so it is optional.
REQUIRED_FILES = (
    "data.adj",
    "data.adv",
    "data.noun",
    "data.verb",
    "index.adj",
    "index.adv",
    "index.noun",
    "index.verb",
    "adj.exc",
    "adv.exc",
    "noun.exc",
    "verb.exc",
    "cntlist.rev",
)
OPTIONAL_FILES = ("index.sense",)

# Lexicographer file names, in file-number order (00..44), as documented in lexnames(5WN) of
# WordNet 3.0. The lexnames file has one line per name: two-digit number, name, syntactic category
# (1 noun, 2 verb, 3 adjective, 4 adverb), separated by tabs.
LEXNAMES: tuple[str, ...] = (
    "adj.all",
    "adj.pert",
    "adv.all",
    "noun.Tops",
    "noun.act",
    "noun.animal",
    "noun.artifact",
    "noun.attribute",
    "noun.body",
    "noun.cognition",
    "noun.communication",
    "noun.event",
    "noun.feeling",
    "noun.food",
    "noun.group",
    "noun.location",
    "noun.motive",
    "noun.object",
    "noun.person",
    "noun.phenomenon",
    "noun.plant",
    "noun.possession",
    "noun.process",
    "noun.quantity",
    "noun.relation",
    "noun.shape",
    "noun.state",
    "noun.substance",
    "noun.time",
    "verb.body",
    "verb.change",
    "verb.cognition",
    "verb.communication",
    "verb.competition",
    "verb.consumption",
    "verb.contact",
    "verb.creation",
    "verb.emotion",
    "verb.motion",
    "verb.perception",
    "verb.possession",
    "verb.social",
    "verb.stative",
    "verb.weather",
    "adj.ppl",
)
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}


def lexnames_text() -> str:
    """The content of WordNet 3.0's ``lexnames`` file (45 lines)."""
    lines = [f"{i:02d}\t{name}\t{_CATEGORY[name.split('.', 1)[0]]}" for i, name in enumerate(LEXNAMES)]
    return "\n".join(lines) + "\n"


def default_target() -> Path:
    """``<sys.prefix>/nltk_data``: on NLTK's search path for this interpreter (and its venv)."""
    return Path(sys.prefix) / "nltk_data"


def find_wordnet() -> Path | None:
    """Where NLTK would load WordNet from (a folder or a ``wordnet.zip``), or None if it finds none."""
    import nltk.data

    try:
        pointer = nltk.data.find("corpora/wordnet")
    except LookupError:
        return None
    path = getattr(pointer, "path", None)
    if path is None:  # a zip-file pointer: .zipfile.filename is the archive on disk
        zf = getattr(pointer, "zipfile", None)
        path = getattr(zf, "filename", None)
    return Path(str(path)) if path is not None else None


@functools.cache
def load_wordnet() -> Any | None:
    """NLTK's WordNet reader, loaded and checked (``synsets('dog')`` non-empty), or None if missing.

    The result is cached per process: loading the index takes a few seconds.
    """
    if find_wordnet() is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from nltk.corpus import wordnet

            if not wordnet.synsets("dog"):
                return None
    except (LookupError, OSError, ValueError, AssertionError):
        return None
    return wordnet


@functools.cache
def load_index() -> Any | None:
    """The lemma-name index (:mod:`judgekit.lexical.wordnet_index`) of the WordNet NLTK finds, built if missing,
    stale or corrupt; None if there is no WordNet or the index does not agree with NLTK's reader.

    Cached per process; a forked worker inherits it (it holds no open files).
    """
    from judgekit.lexical import wordnet_index

    corpus = find_wordnet()
    if corpus is None:
        return None
    try:
        index, _ = wordnet_index.ensure(corpus, load_wordnet)
    except (OSError, ValueError, KeyError, IndexError, wordnet_index.CorruptIndex, zipfile.BadZipFile):
        return None
    return index if index.meta.get("verified") else None


def meteor_wordnet() -> Any | None:
    """What METEOR's synonym stage reads: judgekit's lemma-name index (ready in milliseconds) when it
    agrees with NLTK's reader, else NLTK's reader (seconds to load), else None (WordNet not found)."""
    return load_index() or load_wordnet()


def wordnet_available() -> bool:
    """True if NLTK can load a working WordNet (see :func:`load_wordnet`)."""
    return load_wordnet() is not None


@dataclass
class InstallResult:
    corpus_dir: Path
    copied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    verified: bool = False
    index: Any = None  # the lemma-name index (judgekit.lexical.wordnet_index.WordNetIndex)
    index_built: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.copied)


def _same_file(src: Path, dst: Path) -> bool:
    try:
        s, d = src.stat(), dst.stat()
    except OSError:
        return False
    return s.st_size == d.st_size and int(s.st_mtime) == int(d.st_mtime)


def _atomic_copy(src: Path, dst: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copy2(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_write(dst: Path, text: str) -> bool:
    """Write ``text`` to ``dst`` unless it already holds exactly that; return True if written."""
    try:
        if dst.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def install(
    target: str | Path | None = None,
    source: str | Path = DEBIAN_SOURCE,
    *,
    verify: bool | None = None,
) -> InstallResult:
    """Build ``<target>/corpora/wordnet`` from Debian's WordNet files plus a generated ``lexnames``.

    ``target`` defaults to :func:`default_target`. Files already in place are left alone, so a rerun
    is quick. ``verify`` (default: only when something was copied) loads the result with NLTK's
    reader and checks that ``synsets('dog')`` and a METEOR synonym match work.
    Raises ConfigError with the apt-get command when the source files are missing.
    """
    src = Path(source)
    missing = [name for name in REQUIRED_FILES if not (src / name).is_file()]
    if missing:
        shown = ", ".join(missing[:4]) + (", ..." if len(missing) > 4 else "")
        raise ConfigError(
            f"{src}: WordNet files missing ({shown}); install them with '{APT_HINT}' "
            f"(or, with internet: python -c \"import nltk; nltk.download('wordnet')\")"
        )
    root = Path(target) if target is not None else default_target()
    corpus = root / "corpora" / "wordnet"
    try:
        corpus.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"{corpus}: cannot create the folder ({err.strerror}); pass --target DIR") from None

    result = InstallResult(corpus_dir=corpus)
    try:
        for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
            s, d = src / name, corpus / name
            if not s.is_file():
                result.missing_optional.append(name)
                continue
            if _same_file(s, d):
                result.unchanged.append(name)
            else:
                _atomic_copy(s, d)
                result.copied.append(name)
        if _atomic_write(corpus / "lexnames", lexnames_text()):
            result.copied.append("lexnames")
        else:
            result.unchanged.append("lexnames")
        # WordNet's licence asks that its notice travel with every copy of the database.
        if DEBIAN_COPYRIGHT.is_file():
            lic = corpus / "LICENSE"
            if _same_file(DEBIAN_COPYRIGHT, lic):
                result.unchanged.append("LICENSE")
            else:
                _atomic_copy(DEBIAN_COPYRIGHT, lic)
                result.copied.append("LICENSE")
    except OSError as err:
        raise ConfigError(
            f"{corpus}: cannot write WordNet files ({err.strerror}); pass --target DIR"
        ) from None

    checked = None
    if verify if verify is not None else result.changed:
        checked, problem = _load_and_check(corpus)
        if problem:
            raise ConfigError(f"{corpus}: installed WordNet does not load: {problem}")
        result.verified = True
    result.index, result.index_built = _ensure_index(corpus, force=bool(verify), reader=checked)
    return result


def _ensure_index(corpus: Path, *, force: bool, reader: Any = None) -> tuple[Any, bool]:
    """Build (or find fresh) the lemma-name index of ``corpus``, checked against NLTK's reader (the one
    given, when the caller has just loaded it: NLTK 3.10 takes seconds to create one)."""
    from judgekit.lexical import wordnet_index

    def make_reader() -> Any:
        return reader if reader is not None else _nltk_reader(corpus)

    try:
        with _on_nltk_path(corpus.parent.parent):
            return wordnet_index.ensure(corpus, make_reader, force=force)
    except (OSError, ValueError, KeyError, IndexError) as err:
        raise ConfigError(f"{corpus}: cannot build the synonym index ({err})") from None


@contextlib.contextmanager
def _on_nltk_path(root: Path) -> Iterator[None]:
    """Recent NLTK releases only open corpora under a root on nltk.data.path: put ours there meanwhile."""
    import nltk.data

    added = str(root) not in nltk.data.path
    if added:
        nltk.data.path.append(str(root))
    try:
        yield
    finally:
        if added:
            nltk.data.path.remove(str(root))


def _nltk_reader(corpus: Path) -> Any:
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available" (no OMW)
        return WordNetCorpusReader(str(corpus), None)


def verify_corpus(corpus_dir: str | Path) -> str | None:
    """Load a WordNet folder with NLTK's reader; return None if it works, else what is wrong."""
    return _load_and_check(Path(corpus_dir))[1]


def _load_and_check(corpus: Path) -> tuple[Any, str | None]:
    """NLTK's reader of ``corpus`` and None if it works, else None and what is wrong."""
    from nltk.translate.meteor_score import single_meteor_score

    try:
        with _on_nltk_path(corpus.parent.parent):
            reader = _nltk_reader(corpus)
            if not reader.synsets("dog"):
                return None, "synsets('dog') is empty"
            # 'car' and 'auto' share the synset car.n.01: only the synonym stage can match them.
            if single_meteor_score(["auto"], ["car"], wordnet=reader) <= 0.0:
                return None, "METEOR found no synonym match for 'car' / 'auto'"
    except Exception as err:  # any failure here means the folder is not usable
        return None, f"{type(err).__name__}: {err}".splitlines()[0]
    return reader, None


def status() -> dict[str, Any]:
    """What NLTK finds: path, WordNet version, whether synonyms work, and the search path."""
    import nltk.data

    path = find_wordnet()
    reader = load_wordnet()
    info: dict[str, Any] = {
        "found": str(path) if path else None,
        "usable": reader is not None,
        "version": None,
        "meteor_mode": "wordnet" if reader is not None else "exact+stem (WordNet not found)",
        "debian_source": str(DEBIAN_SOURCE) if (DEBIAN_SOURCE / "data.noun").is_file() else None,
        "nltk_data_path": list(nltk.data.path),
        "synonym_index": None,
    }
    if reader is not None:
        index = load_index()
        info["synonym_index"] = str(index.path) if index is not None and index.path else None
        try:
            info["version"] = reader.get_version()
        except Exception:  # version is informative only
            info["version"] = None
    return info


def _cmd_install(args: argparse.Namespace) -> int:
    result = install(args.target, args.source, verify=True if args.verify else None)
    root = result.corpus_dir.parent.parent
    if result.changed:
        print(f"WordNet installed in {result.corpus_dir} (copied {len(result.copied)} files)")
    else:
        print(f"WordNet already installed in {result.corpus_dir} (nothing to do)")
    if result.verified:
        print("checked: synsets('dog') works and METEOR matches synonyms")
    _print_index(result.index, result.index_built)
    if result.missing_optional:
        print(f"note: optional files not found: {', '.join(result.missing_optional)}")
    if os.path.abspath(root) != os.path.abspath(default_target()):  # the default is always searched
        import nltk.data

        if os.path.abspath(root) not in [os.path.abspath(p) for p in nltk.data.path]:
            print(f"note: {root} is not on NLTK's search path; set NLTK_DATA={root}")
    return 0


def _print_index(index: Any, built: bool) -> None:
    where = index.path or "memory only (no writable folder)"
    if not built:
        print(f"synonym index up to date: {where}")
    elif index.meta.get("verified"):
        words = index.meta.get("checked_words")
        print(f"synonym index built: {where} (same lemma names as NLTK's reader on {words} words)")
    else:
        print(
            f"note: synonym index built in {where} differs from NLTK's reader on a sample; "
            "METEOR uses NLTK's reader instead (slower start)"
        )


def _cmd_status(args: argparse.Namespace) -> int:
    info = status()
    if info["usable"]:
        print(f"WordNet {info['version'] or '?'}: {info['found']}")
        print("METEOR mode: wordnet (exact, stem and synonym matches)")
        index = info["synonym_index"]
        print(f"synonym index: {index}" if index else "synonym index: none (METEOR loads NLTK's reader)")
        return 0
    where = f"found at {info['found']} but does not load" if info["found"] else "not found"
    print(f"WordNet {where}; METEOR mode: exact+stem (no synonyms)")
    print("NLTK looks in: " + os.pathsep.join(info["nltk_data_path"]))
    if info["debian_source"]:
        print("fix: python -m judgekit.lexical.wordnet install")
    else:
        print(f"fix: {APT_HINT} && python -m judgekit.lexical.wordnet install")
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m judgekit.lexical.wordnet",
        description="Find or install WordNet (for METEOR's synonym stage) where NLTK looks, offline.",
        epilog=(
            "examples:\n"
            f"  {APT_HINT}\n"
            "  python -m judgekit.lexical.wordnet install                 # into <sys.prefix>/nltk_data\n"
            "  python -m judgekit.lexical.wordnet install --target ~/nltk_data\n"
            "  python -m judgekit.lexical.wordnet status                  # exit 0 if METEOR can use WordNet\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p_install = sub.add_parser(
        "install", help="build nltk_data/corpora/wordnet from Debian's WordNet 3.0 files"
    )
    p_install.add_argument(
        "--target", type=Path, default=None, help=f"nltk_data folder (default: {default_target()})"
    )
    p_install.add_argument(
        "--source", type=Path, default=DEBIAN_SOURCE, help=f"WordNet dict folder (default: {DEBIAN_SOURCE})"
    )
    p_install.add_argument(
        "--verify", action="store_true", help="load and check the result even if unchanged"
    )
    p_install.set_defaults(func=_cmd_install)
    p_status = sub.add_parser("status", help="say where NLTK finds WordNet and which METEOR mode applies")
    p_status.set_defaults(func=_cmd_status)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except JudgekitError as err:
        print(f"judgekit.lexical.wordnet: error: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
