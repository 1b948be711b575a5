"""Any OpenAI-compatible HTTP server (vLLM, llama.cpp, a hosted API) as a :class:`LanguageModel`.

Model syntax: ``openai:<model>@<base_url>[#key=value,...]``, e.g.
``openai:Qwen/Qwen2.5-7B-Instruct@http://gpu01:8000/v1#concurrency=16``. Options after ``#``:

* ``api=completions`` (default: prompts are rendered here and sent as text to ``/v1/completions``)
  or ``api=chat`` (messages go to ``/v1/chat/completions``; for hosted chat-only models);
* ``concurrency=N`` requests in flight (default 4); ``timeout=S`` per request (default 600);
  ``retries=N`` (default 4; the openai client's exponential backoff on 408/429/5xx/connection);
* ``key_env=NAME``: the environment variable holding the API key (default ``OPENAI_API_KEY``);
  the key is never stored in :class:`ModelInfo`, logged or put into an error message;
* ``tokenizer=<folder or hub id>``: render chat prompts locally with this tokenizer's chat
  template (embedded model names use their own tokenizer automatically);
* ``scoring=prompt_logprobs|echo|topk|chat_topk``: skip detection and use this method;
* ``x.<name>=<value>``: extra request fields for the server, e.g. ``x.repeat_penalty=1`` for
  llama-cpp-python, whose default 1.1 would make "greedy" differ from every other backend.

Choice scoring uses the best method the server offers, detected once (:mod:`.openai_scoring`).
Every failure raises :class:`CultureAlignError`: the runner has already written the finished
chunks, so re-running the same command re-requests only the unfinished items.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from culturealign.errors import CultureAlignError
from culturealign.models.base import (
    ChatMessage,
    ChoiceRequest,
    GenerationConfig,
    ModelInfo,
    Progress,
)

T = TypeVar("T")
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
_CHAT_MARK, _FIELD, _RECORD = "\x02chat\x1d", "\x1f", "\x1e"


def parse_spec(spec: str) -> dict[str, Any]:
    """``<model>@<base_url>[#k=v,...]`` (without the ``openai:`` prefix) as keyword arguments."""
    body, _, opts = spec.partition("#")
    model, at, base_url = body.partition("@")
    if not at or not model or not base_url.startswith(("http://", "https://")):
        raise CultureAlignError(
            f"bad OpenAI-compatible model spec {spec!r}",
            "write it as openai:<model>@<base_url>, e.g. openai:my-model@http://127.0.0.1:8000/v1",
        )
    kwargs: dict[str, Any] = {"model": model, "base_url": base_url.rstrip("/")}
    extra: dict[str, Any] = {}
    for pair in filter(None, opts.split(",")):
        key, eq, value = pair.partition("=")
        if not eq:
            raise CultureAlignError(f"bad option {pair!r} in {spec!r}", "write options as k=v")
        if key.startswith("x."):
            extra[key[2:]] = _number(value)
        elif key in ("concurrency", "retries"):
            kwargs[key] = int(value)
        elif key == "timeout":
            kwargs[key] = float(value)
        elif key in ("api", "key_env", "tokenizer", "scoring"):
            kwargs[key] = value
        else:
            raise CultureAlignError(
                f"unknown option {key!r} in {spec!r}",
                "options: api, concurrency, timeout, retries, key_env, tokenizer, scoring, "
                "x.<field>",
            )
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def _number(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


class OpenAIHTTPModel:
    """A model behind an OpenAI-compatible server; see the module docstring."""

    def __init__(
        self,
        model: str,
        base_url: str,
        api: str = "completions",
        concurrency: int = 4,
        timeout: float = 600.0,
        retries: int = 4,
        key_env: str = DEFAULT_KEY_ENV,
        tokenizer: str | None = None,
        scoring: str | None = None,
        extra_body: dict[str, Any] | None = None,
        client: Any = None,
    ) -> None:
        if api not in ("completions", "chat"):
            raise CultureAlignError(f"unknown api {api!r}", "use api=completions or api=chat")
        if concurrency < 1:
            raise CultureAlignError(
                f"concurrency must be >= 1, not {concurrency}", "pass 1 or more"
            )
        self.model, self.base_url, self.api = model, base_url, api
        self.concurrency = concurrency
        self.key_env = key_env
        self._key = os.environ.get(key_env) or ""
        self.extra_body = dict(extra_body or {})
        if client is None:
            from openai import OpenAI

            # The openai client wants some key; local servers without --api_key ignore it.
            client = OpenAI(
                api_key=self._key or "unset",
                base_url=base_url,
                timeout=timeout,
                max_retries=retries,
            )
        self.client = client
        self._tokenizer = _load_tokenizer(tokenizer, model) if api == "completions" else None
        self.scoring = scoring  # a choice-scoring method to use instead of detecting one
        self._scorer: Any = None
        self.work: dict[str, int] = {"requests": 0, "boundary_merges": 0, "outside_topk": 0}
        self.info = ModelInfo(
            name=model,
            backend="openai",
            path=base_url,
            chat_template=self.is_chat,
            extra={"api": api, "concurrency": concurrency, "key_env": key_env},
        )
        self.info.extra.update(self._call(self._describe_server))
        # Detected now, not at the first choice request, so that the method is in ModelInfo
        # when the runner records it; a server that cannot score still generates, and the
        # error is raised only if a choice task asks for scores.
        from culturealign.models.openai_scoring import detect_scorer

        self._scorer_error: CultureAlignError | None = None
        try:
            self._scorer = self._call(lambda: detect_scorer(self))
        except CultureAlignError as exc:
            self._scorer_error = exc

    # -- LanguageModel -------------------------------------------------------------------------
    @property
    def is_chat(self) -> bool:
        if self.api == "chat":
            return True
        return self._tokenizer is not None and bool(self._tokenizer.chat_template)

    def render_chat(self, messages: Sequence[ChatMessage]) -> str:
        if self.api == "chat":
            # Carried through the caller's string as the message list, decoded in generate().
            return _CHAT_MARK + _RECORD.join(m.role + _FIELD + m.content for m in messages)
        if self._tokenizer is None or not self.is_chat:
            raise CultureAlignError(
                f"{self.model} has no chat template here",
                "pass #tokenizer=<folder or hub id> with its chat template, or --no-chat",
            )
        return str(
            self._tokenizer.apply_chat_template(
                [{"role": m.role, "content": m.content} for m in messages],
                tokenize=False,
                add_generation_prompt=True,
            )
        )

    def choice_logprobs(
        self, requests: Sequence[ChoiceRequest], progress: Progress | None = None
    ) -> list[list[float]]:
        if self._scorer is None:
            assert self._scorer_error is not None
            raise self._scorer_error
        scorer = self._scorer
        return self._map(lambda r: scorer.score(self, r), list(requests), progress)

    def generate(
        self, prompts: Sequence[str], config: GenerationConfig, progress: Progress | None = None
    ) -> list[str]:
        return self._map(lambda p: self._generate_one(p, config), list(prompts), progress)

    # -- requests ------------------------------------------------------------------------------
    def _generate_one(self, prompt: str, config: GenerationConfig) -> str:
        params: dict[str, Any] = dict(
            max_tokens=config.max_new_tokens,
            temperature=config.temperature,
            top_p=config.top_p,
            seed=config.seed,
        )
        if config.stop:
            params["stop"] = list(config.stop)
        if config.top_k > 0:  # not an OpenAI field; vLLM and llama.cpp servers read it
            params["extra_body"] = {"top_k": config.top_k}
        if prompt.startswith(_CHAT_MARK):
            resp = self.chat_completion(messages=decode_chat(prompt), **params)
            return str(resp["choices"][0]["message"]["content"] or "")
        return str(self.completion(prompt=prompt, **params)["choices"][0]["text"])

    def completion(self, **params: Any) -> dict[str, Any]:
        """One ``/v1/completions`` call as a plain dict (vendor extensions included)."""
        extra = {**self.extra_body, **params.pop("extra_body", {})}
        resp = self.client.completions.create(model=self.model, extra_body=extra or None, **params)
        self._note_response(resp)
        return dict(resp.model_dump())

    def chat_completion(self, **params: Any) -> dict[str, Any]:
        extra = {**self.extra_body, **params.pop("extra_body", {})}
        resp = self.client.chat.completions.create(
            model=self.model, extra_body=extra or None, **params
        )
        self._note_response(resp)
        return dict(resp.model_dump())

    def server_post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to a route at the server root (vLLM's ``/tokenize``), outside ``/v1``."""
        resp = self.client.post(_root(self.base_url) + route, body=body, cast_to=object)
        return dict(resp)

    def _note_response(self, resp: Any) -> None:
        self.work["requests"] += 1
        if "server_model" not in self.info.extra and getattr(resp, "model", None):
            self.info.extra["server_model"] = resp.model
            fingerprint = getattr(resp, "system_fingerprint", None)
            if fingerprint:
                self.info.extra["system_fingerprint"] = fingerprint

    def _describe_server(self) -> dict[str, Any]:
        """Check the model is served; the server's model id and version for the summary."""
        served = list(self.client.models.list())
        ids = [m.id for m in served]
        if self.model not in ids:
            raise CultureAlignError(
                f"model {self.model!r} is not served at {self.base_url} (it serves: "
                f"{', '.join(ids) or 'nothing'})",
                f"name one of them: openai:{ids[0] if ids else '<model>'}@{self.base_url}",
            )
        entry = served[ids.index(self.model)]
        out: dict[str, Any] = {"server_model_id": entry.id}
        if getattr(entry, "owned_by", None):
            out["owned_by"] = entry.owned_by
        version = self._server_version()
        if version:
            out["server_version"] = version
        return out

    def _server_version(self) -> str | None:
        # vLLM serves GET /version; llama.cpp's server reports its build under GET /props.
        for route, key in (("/version", "version"), ("/props", "build_info")):
            try:
                got = self.client.with_options(max_retries=0, timeout=10).get(
                    _root(self.base_url) + route, cast_to=object
                )
            except Exception:  # noqa: BLE001 - an optional route: absent on most servers
                continue
            if isinstance(got, dict) and got.get(key):
                return str(got[key])
        return None

    def _map(self, fn: Callable[[Any], T], items: list[Any], progress: Progress | None) -> list[T]:
        """``fn`` over ``items`` with at most ``concurrency`` in flight, results in order."""
        results: list[Any] = [None] * len(items)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = {pool.submit(self._call, lambda x=x: fn(x)): i for i, x in enumerate(items)}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for fut in finished:
                    if fut.exception() is not None:
                        for other in pending:
                            other.cancel()
                        raise fut.exception()  # type: ignore[misc]
                    results[futures[fut]] = fut.result()
                    if progress:
                        progress(1)
        return results

    def _call(self, fn: Callable[[], T]) -> T:
        """Run one request; turn every client error into one clear, key-free message."""
        import openai

        try:
            return fn()
        except CultureAlignError:
            raise
        except openai.AuthenticationError as exc:
            raise CultureAlignError(
                f"the server at {self.base_url} rejected the API key (HTTP {exc.status_code})",
                f"put the right key in the environment variable {self.key_env}",
            ) from None
        except openai.PermissionDeniedError as exc:
            raise CultureAlignError(
                f"the server at {self.base_url} refused access (HTTP {exc.status_code})",
                f"check the key in {self.key_env} may use model {self.model}",
            ) from None
        except openai.NotFoundError:
            raise CultureAlignError(
                f"{self.base_url} has no OpenAI-compatible route for this request (HTTP 404)",
                "give the base URL that ends in /v1, e.g. http://127.0.0.1:8000/v1",
            ) from None
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise CultureAlignError(
                f"cannot reach the server at {self.base_url} ({type(exc).__name__}, after retries)",
                "check the URL and that the server is running; re-running the same command "
                "resumes: finished items are kept, only unfinished ones are requested",
            ) from None
        except openai.APIStatusError as exc:
            raise CultureAlignError(
                f"the server at {self.base_url} answered HTTP {exc.status_code}: "
                f"{self._redact(str(exc.message))[:300]}",
                "check the server log; re-running the same command resumes where it stopped",
            ) from None

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


def decode_chat(prompt: str) -> list[dict[str, str]]:
    """The message list :meth:`OpenAIHTTPModel.render_chat` encoded into ``prompt``."""
    messages = []
    for record in prompt.removeprefix(_CHAT_MARK).split(_RECORD):
        role, _, content = record.partition(_FIELD)
        messages.append({"role": role, "content": content})
    return messages


def _root(base_url: str) -> str:
    return base_url.removesuffix("/v1")


def _load_tokenizer(explicit: str | None, model: str) -> Any:
    """A local tokenizer for chat templates: the one given, or an embedded model's own."""
    from culturealign.models.embedded import EMBEDDED, ensure_converted

    if explicit is None and model not in EMBEDDED:
        return None
    from transformers import AutoTokenizer

    source = ensure_converted(model) if explicit is None else explicit
    return AutoTokenizer.from_pretrained(source)


def load_openai(spec: str, name: str | None = None, **options: Any) -> OpenAIHTTPModel:
    """Registry loader: ``spec`` is ``<model>@<base_url>[#options]``; keyword options override."""
    if options.pop("adapter", None) is not None:
        raise CultureAlignError(
            "an adapter cannot be applied to a model behind an HTTP server",
            "load the adapter in the server (vLLM: --enable-lora --lora-modules name=path) "
            "and name it as the model",
        )
    options.pop("threads", None)  # the server owns its threads
    options.pop("chat", None)
    kwargs = parse_spec(spec)
    kwargs.update({k: v for k, v in options.items() if v is not None})
    return OpenAIHTTPModel(**kwargs)
