"""`python -m mssp report`: the fleet coverage page (one self-contained HTML file plus Markdown)."""
