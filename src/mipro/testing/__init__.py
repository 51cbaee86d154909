"""Test doubles that implement the LM protocol: for unit tests of logic, never for acceptance."""

from mipro.testing.scripted import ScriptedLM

__all__ = ["ScriptedLM"]
