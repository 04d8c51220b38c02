"""A rubric folder's Jinja templates, rendered in a sandbox with ``StrictUndefined``.

A typo is an error, not an empty string, and a user-supplied template cannot reach Python internals. Every
template error becomes one line naming the template file and, when Jinja knows it, the line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, TemplateError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from judgekit.errors import RubricError


def fence(value: object, tag: str = "response") -> Markup:
    """Wrap untrusted text in <tag>...</tag>, neutralising any closing tag inside it so it cannot break out."""
    text = str(value)
    closing = f"</{tag}"
    safe = text.replace(closing, f"<\\/{tag}").replace(closing.upper(), f"<\\/{tag.upper()}")
    return Markup(f"<{tag}>\n{safe}\n</{tag}>")


class TemplateSet:
    """The templates of one rubric folder: checked at load time, rendered per call."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(folder)),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._constant: dict[str, bool] = {}
        self._rendered: dict[str, str] = {}
        # compiled once per run: Jinja's own cache stats the file on every get_template (auto_reload)
        self._compiled: dict[str, Template] = {}
        self._env.filters["fence"] = fence
        self._env.filters["tojson"] = lambda v: Markup(json.dumps(v, ensure_ascii=False))

    def _is_constant(self, template: str) -> bool:
        """A template that reads no variables renders the same text every time: render it once."""
        known = self._constant.get(template)
        if known is None:
            source = self._env.loader.get_source(self._env, template)[0]  # type: ignore[union-attr]
            known = not meta.find_undeclared_variables(self._env.parse(source))
            self._constant[template] = known
        return known

    def render(self, template: str, context: dict[str, Any]) -> str:
        try:
            if self._is_constant(template):
                text = self._rendered.get(template)
                if text is None:
                    text = self._rendered[template] = self._template(template).render().strip()
                return text
            return self._template(template).render(context).strip()
        except SecurityError as err:
            raise RubricError(
                f"{_template_place(self.folder, template, err)}: blocked unsafe template operation ({err})"
            ) from None
        except TemplateError as err:
            raise RubricError(f"{_template_place(self.folder, template, err)}: {_first_line(err)}") from None

    def _template(self, name: str) -> Template:
        compiled = self._compiled.get(name)
        if compiled is None:
            compiled = self._compiled[name] = self._env.get_template(name)
        return compiled

    def check(self, name: str) -> None:
        """The template exists and compiles; a :class:`RubricError` naming its file and line otherwise."""
        path = self.folder / name
        if not path.is_file():
            raise RubricError(f"{self.folder / 'rubric.yaml'}: template {name!r} not found in {self.folder}")
        try:
            self._env.get_template(name)
        except TemplateError as err:
            raise RubricError(f"{_template_place(self.folder, name, err)}: {_first_line(err)}") from None


def _template_place(folder: Path, template: str, err: BaseException) -> str:
    """``FILE line N`` of a template error: a syntax error carries its line; for an error raised while
    rendering (an undefined variable), Jinja rewrites the traceback so its frames carry template lines."""
    filename = getattr(err, "filename", None)
    line = getattr(err, "lineno", None)
    if line is None:
        tb = err.__traceback__
        while tb is not None:  # the innermost template frame (an included template's, if it failed there)
            code_file = Path(tb.tb_frame.f_code.co_filename)
            if folder in code_file.parents:
                filename, line = str(code_file), tb.tb_lineno
            tb = tb.tb_next
    where = Path(filename) if filename else folder / template
    return f"{where} line {line}" if line else str(where)


def _first_line(err: BaseException) -> str:
    """Jinja appends the template source to some messages; the one-line error keeps the message only."""
    text = str(getattr(err, "message", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__
