"""DVC stage entry points: `python -m stages.<name>` from the repository root."""
