"""Signatures: typed fields and instructions of an LM call."""

from mipro.signatures.fields import Field, InputField, OutputField
from mipro.signatures.signature import Signature, ensure_signature

__all__ = ["Field", "InputField", "OutputField", "Signature", "ensure_signature"]
