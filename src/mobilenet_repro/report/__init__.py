"""The report: context from the pipeline's files, formatting, datasheets, rendering.

- `context`: `build_context`, everything the templates show, read from the pipeline's files;
- `architectures`: the architecture section's part of the context;
- `datasheets`: a data set's datasheet rows from its manifest;
- `formatting`: the one place numbers are formatted;
- `render`: Jinja2 environments (HTML and Typst escaping) and `render` to HTML and PDF.
"""
