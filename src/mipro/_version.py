"""The version of mipro, importable from every layer (saved programs record it)."""

__version__ = "0.1.0"
