"""`python -m tradetrace.cli`: the `tradetrace` command without its installed script."""

from tradetrace.cli import app

app()
