"""Figures: one module per report over one shared style (``style``), labels in the report language."""
