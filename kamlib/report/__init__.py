"""Reporting: the papermill runner, warm kernels, HTML and PDF rendering, the notebook context, widgets.
Knows nothing about statistics."""
