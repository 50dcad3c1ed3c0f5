"""Browser tests of the live call popup, run against the real server (see conftest.py)."""
