"""Program primitives: examples, modules, predictors, retrieval and tracing."""

from mipro.program.example import Example, Prediction
from mipro.program.module import Module
from mipro.program.predict import ChainOfThought, Predict
from mipro.program.retrieve import BM25Index, Retrieve
from mipro.program.sampling import sampling
from mipro.program.trace import TraceStep, tracing

__all__ = [
    "BM25Index", "ChainOfThought", "Example", "Module", "Predict", "Prediction", "Retrieve",
    "TraceStep", "sampling", "tracing",
]
