"""The signal explorer: pages of the backend that debug one signal end to end (pages.py)."""
