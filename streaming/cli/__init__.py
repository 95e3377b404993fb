"""The `streaming` command line."""
