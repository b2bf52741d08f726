"""Pure renderers: records in, text out (terminal, Markdown, JSON)."""
