"""A user's package with its own VAE and initializer, for tests/test_plugins.py (on sys.path from
tests/plugins).
"""
