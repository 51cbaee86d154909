"""mipro: optimize the instructions and demonstrations of multi-stage LM programs (MIPRO)."""

from mipro.errors import (
    BudgetExhausted,
    ConfigurationError,
    ContextWindowError,
    EvaluationError,
    LMError,
    LMTimeoutError,
    LMUnavailableError,
    MiproError,
    ParseError,
    RateLimitError,
)
from mipro.evaluate import Evaluate, EvaluationResult, ExampleResult
from mipro.lm import LM, LMRequest, LMResponse, LocalLM, OpenAILM, SQLiteCache, using_lm
from mipro.optimize import (
    MIPRO,
    OPTIMIZERS,
    BayesianBootstrap,
    BootstrapRandomSearch,
    MIPROPlusPlus,
    ModuleOPRO,
    OptimizationResult,
    Optimizer,
)
from mipro.program import (
    BM25Index,
    ChainOfThought,
    Example,
    Module,
    Predict,
    Prediction,
    Retrieve,
    TraceStep,
    tracing,
)
from mipro.signatures import InputField, OutputField, Signature

__version__ = "0.1.0"

__all__ = [
    "BM25Index",
    "BayesianBootstrap",
    "BootstrapRandomSearch",
    "BudgetExhausted",
    "ChainOfThought",
    "ConfigurationError",
    "ContextWindowError",
    "Evaluate",
    "EvaluationError",
    "EvaluationResult",
    "Example",
    "ExampleResult",
    "InputField",
    "LM",
    "LMError",
    "LMRequest",
    "LMResponse",
    "LMTimeoutError",
    "LMUnavailableError",
    "LocalLM",
    "MIPRO",
    "MIPROPlusPlus",
    "MiproError",
    "Module",
    "ModuleOPRO",
    "OPTIMIZERS",
    "OpenAILM",
    "OptimizationResult",
    "Optimizer",
    "OutputField",
    "ParseError",
    "Predict",
    "Prediction",
    "RateLimitError",
    "Retrieve",
    "SQLiteCache",
    "Signature",
    "TraceStep",
    "tracing",
    "using_lm",
]
