"""Stored markets for these tests come from the session fixtures in tests/conftest.py."""
