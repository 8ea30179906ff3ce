"""The report: context from the pipeline's files, datasheets, rendering.

- `context`: `build_context(ReportInputs)`, everything the templates show, assembled once
  from the files the report rule declares, one builder per section (results, accuracy,
  counting, claims, audit, seed002, agreement and datasheets hold the larger ones);
- `numbers`: `Number`, a printed value with the file and field it was read from;
- `render`: Jinja2 environments (HTML and Typst escaping) and `render` to HTML and PDF;
- `build`: `write_report`, the context rendered, its numbers recorded and compared with the
  previous build's (the Changes section, the one part that needs a first rendering).

Numbers are formatted by `mobilenet_repro.formatting` (shared with the architecture stage's
verdict texts, which is why it lives outside this package).
"""
