"""Renderers: a typed table in (``matrix.table``), text out — terminal, Markdown, JSON, HTML, and
the advice the table supports.

Constraint: nothing here imports the model or server registry or the check catalog, and no
renderer names a model. Everything a renderer shows comes from the table, which comes from the
records (the column order and labels, the versions a column names, a model's note).
"""
