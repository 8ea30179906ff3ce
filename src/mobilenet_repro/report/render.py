"""Rendering: Jinja2 templates to self-contained HTML and, through Typst, to PDF.

Text from the configuration or the data (titles, notes, model and class names) is escaped
for each output: HTML autoescaping, and backslash-escaping of every markup character for
Typst, so nothing from data is ever interpreted as markup. The templates are read from the
folder a caller gives (the report rule's declared inputs); by default the package's own.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from markupsafe import Markup

from mobilenet_repro.files import atomic_path, write_bytes, write_text
from mobilenet_repro.formatting import fmt_int, fmt_millions, fmt_pct
from mobilenet_repro.paths import TEMPLATES
from mobilenet_repro.report.numbers import Number, Recorder


# ----------------------------------------------------------------------------- escaping
class TypstRaw(str):
    """Typst source that the template author wrote on purpose; never escaped again."""


def typst_escape(value) -> str:
    """Text shown literally in Typst markup: every ASCII punctuation mark gets a backslash."""
    if isinstance(value, TypstRaw):
        return value
    text = " ".join(str(value).split())  # newlines would start paragraphs, headings or lists
    return "".join("\\" + c if c.isascii() and not c.isalnum() and c != " " else c for c in text)


def typst_string(value) -> TypstRaw:
    """A Typst string literal for code mode (paths, arguments)."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return TypstRaw(f'"{text}"')


def typst_finalize(value):
    """Every expression's value as Typst: data escaped, markup (macros, `raw`) kept.

    The Typst environment autoescapes like the HTML one, so that what the markup macros
    (markup/typ.j2) return is kept as markup; this is the escaping it applies instead of
    HTML's: a macro's output or a `TypstRaw` is kept, anything else is escaped.
    """
    if value is None:
        return ""
    if isinstance(value, Markup):
        return value
    return Markup(value if isinstance(value, TypstRaw) else typst_escape(value))


def _keep_numbers(fmt):
    """A number filter that leaves a Number (already formatted, with its source) as it is."""
    return lambda x, *args: x if isinstance(x, Number) else fmt(x, *args)


def noun(count, singular: str, plural: str | None = None) -> str:
    """The noun for a count, in the right number: 1 run, 2 runs ("1" as text counts too)."""
    value = float(str(count).replace(",", "")) if str(count).strip() else 0.0
    return singular if value == 1 else (plural or singular + "s")


def environments(template_dir: Path | str = TEMPLATES, recorder: Recorder | None = None):
    """(html, typst) Jinja2 environments over the same template folder.

    The report's content (content/*.j2) is written once; each environment's `markup` names
    the macro library that lays it out (markup/html.j2, markup/typ.j2). With a `recorder`,
    the HTML shows each Number's source on hover and the recorder keeps what was printed.
    """
    loader = jinja2.FileSystemLoader(str(template_dir))
    common = {
        "loader": loader,
        "undefined": jinja2.StrictUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
    }
    html = jinja2.Environment(
        autoescape=True, finalize=recorder.html if recorder else None, **common
    )
    typ = jinja2.Environment(autoescape=True, finalize=typst_finalize, **common)
    html.globals["markup"] = "markup/html.j2"
    typ.globals["markup"] = "markup/typ.j2"
    typ.filters["typst_string"] = typst_string
    typ.filters["raw"] = TypstRaw
    for env in (html, typ):
        env.filters["num"] = _keep_numbers(fmt_int)
        env.filters["pct"] = _keep_numbers(fmt_pct)
        env.filters["millions"] = _keep_numbers(fmt_millions)
        env.filters["noun"] = noun
    return html, typ


# ----------------------------------------------------------------------------- rendering
_HEADING = re.compile(r"<h([23])>(.*?)</h\1>", re.S)


def with_toc(html: str) -> str:
    """The page with a table of contents of its sections (h2, h3) at the toc() macro's
    placeholder, each heading preceded by the anchor its entry links to."""
    entries, count = [], 0

    def anchor(match):
        nonlocal count
        count += 1
        entries.append((int(match.group(1)), f"s{count}", re.sub(r"<[^>]+>", "", match.group(2))))
        return f'<a id="s{count}"></a>{match.group(0)}'

    html = _HEADING.sub(anchor, html)
    items, level = [], 2
    for depth, ident, text in entries:
        if depth > level:
            items.append("<ul>")
        elif depth < level:
            items.append("</ul>")
        level = depth
        items.append(f'<li><a href="#{ident}">{text.strip()}</a></li>')
    items += ["</ul>"] * (level - 2)
    nav = '<nav class="toc"><strong>Contents</strong><ul>' + "".join(items) + "</ul></nav>"
    return html.replace("<!--toc-->", nav, 1)


def render_html(context: dict, template_dir=TEMPLATES) -> tuple[str, list[dict]]:
    """The HTML page and every Number it prints (numbers.json's entries, with sections)."""
    recorder = Recorder()
    html_env, _ = environments(template_dir, recorder)
    html = html_env.get_template("report.html.j2").render(**context)
    numbers = recorder.record(html)
    return with_toc(html), numbers


def render(
    context: dict, html_path, pdf_path, root: Path | str = ".", template_dir=TEMPLATES
) -> list[dict]:
    """Write the HTML and the PDF (each atomically); return the numbers the report prints."""
    import typst

    _, typ_env = environments(template_dir)
    html, numbers = render_html(context, template_dir)
    write_text(html, html_path)
    source = typ_env.get_template("report.typ.j2").render(**context)
    root = Path(root).resolve()
    build_dir = Path(pdf_path).parent / ".build"
    build_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(build_dir / "report.typ") as tmp:
        tmp.write_text(source, encoding="utf-8")
    typ_file = build_dir / "report.typ"
    try:
        pdf = typst.compile(str(typ_file), root=str(root))
    except Exception as exc:  # typst raises its own error type with the source position
        raise RuntimeError(f"Typst could not compile {typ_file}: {exc}") from exc
    write_bytes(pdf, pdf_path)
    return numbers
