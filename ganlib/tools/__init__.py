"""Command-line tools shipped with ganlib (``python -m ganlib.tools.<name>``)."""
