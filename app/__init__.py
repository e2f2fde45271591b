"""dipevents: a REST API serving structured, sourced diplomatic events."""
