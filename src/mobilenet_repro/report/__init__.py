"""The report: context from the pipeline's files, datasheets, rendering.

- `context`: `build_context`, everything the templates show, read from the pipeline's files;
- `architectures`: the architecture section's part of the context;
- `datasheets`: a data set's datasheet rows from its manifest;
- `render`: Jinja2 environments (HTML and Typst escaping) and `render` to HTML and PDF.

Numbers are formatted by `mobilenet_repro.formatting` (shared with the architecture stage's
verdict texts, which is why it lives outside this package).
"""
