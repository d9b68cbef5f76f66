"""Helpers shared by the tests: a real platform process and clients for it."""
