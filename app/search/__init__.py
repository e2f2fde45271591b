"""Full-text search: how stored text becomes tokens (text.py), how `q` is parsed and compiled for each
database (query.py), and the relevance score and snippets both databases share (rank.py)."""
