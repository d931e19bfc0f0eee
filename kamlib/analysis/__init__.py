"""Analyses of a ``Dataset``: pure functions and results objects, no notebooks, no report rendering."""
