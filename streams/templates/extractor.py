"""Prompt templates: a stable skeleton, a near-duplicate template id and structural features.

Distillation traffic wraps a fixed instruction around a variable payload
("Solve the following problem step by step and return JSON ...: <question>").
The payload dominates the text, so comparing whole prompts says little.  The
extractor is a pure function of one prompt, in three steps:

1. ``normalise`` folds case and space and replaces volatile material (numbers,
   quotes, URLs, e-mails, code, list markers, hex/uuids, capitalised names,
   JSON literals) with slots.
2. ``skeleton`` tags each sentence as instruction (it talks *about* the prompt
   or the response: "respond", "step by step", "your task", "the following")
   or plain, and keeps only the instruction runs at the start and the end of
   the prompt: a wrapper sits around its payload.  Everything in between,
   and whatever follows an introducing colon ("Question:", "solve the
   following problem:"), becomes one ``<#payload>`` slot.  Cue words in the
   middle (a payload that mentions JSON) stay payload.
3. The skeleton's tokens are canonicalised (instruction synonyms folded,
   stop words and plurals dropped) and the template id is a hash of their
   bottom-k token hashes.  It depends on the prompt alone, so every worker,
   partition and replay assigns the same id with no shared index, whatever
   the event order; reordering and synonym swaps do not change it.  A
   prompt whose wrapper has fewer than ``min_wrapper_tokens`` canonical
   tokens is plain: its id comes from the whole text and stays its own.

The trade-off of a stateless id: paraphrases that canonicalisation does not
fold get ids of their own (measured by ``bench/templates.py``).  The MinHash
of the skeleton's shingles travels with every match so that the similarity
stage can still relate them, with graded rather than all-or-nothing evidence.

Two inputs the native core cannot take as they are, each mapped deterministically:

* Text holding lone surrogates (Rust strings cannot hold them; the wire decoder
  already refuses such records, so only in-process callers can pass them) is
  extracted as ``text.encode("utf-8", "replace").decode()``: each lone surrogate
  becomes ``?``.
* A prompt the native core fails on ("error: ..." such as a pattern's
  backtracking limit on pathological text, or "panic: ...") does not stop the
  stream: it gets a plain match of its own, ``p-`` plus the digest of its
  bounded text, the empty MinHash and the feature ``extraction_failed``.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

from streams import _native
from streams.config import WRAPPER_PREFIX, TemplateConfig
from streams.errors import ConfigError
from streams.records import PromptFingerprint

PLAIN_PREFIX = "p-"
"""Template ids of prompts without a wrapper: derived from the whole prompt."""
EMPTY_TEMPLATE_ID = "empty"
"""Template id of an event with no prompt text at all."""
EXTRACTION_FAILED = "extraction_failed"
"""Feature of a prompt the native core failed on (see the module docstring)."""

DEFAULT_CONFIG = TemplateConfig()

Key = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class TemplateMatch:
    """What the detector learns about one prompt's template.

    ``template_id`` starts with ``w-`` (wrapper around a payload), ``p-``
    (plain prompt), or is ``empty``; the prefix survives privacy-mode
    fingerprints, so template statistics can ignore plain prompts there too.
    ``skeleton`` is the wrapper text with the payload slotted (empty when only
    a fingerprint was available): safe evidence that shows an analyst the template.
    """

    template_id: str
    exact_id: str
    minhash: tuple[int, ...]
    features: frozenset[str]
    wrapper: bool = False
    skeleton: str = field(default="", compare=False)


# --------------------------------------------------------------------------- extractor


def _bounded(text: str, limit: int) -> str:
    """Cap the work per prompt; wrappers live at the ends, so keep head and tail."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n\n{text[-half:]}"


def _scalar(text: str | None) -> str | None:
    """``text`` with each lone surrogate replaced by ``?`` (Rust strings cannot hold them)."""
    return None if text is None else text.encode("utf-8", "replace").decode("utf-8")


def native_extractor(cfg: TemplateConfig) -> _native.Extractor:
    """The native core configured as ``cfg`` (the match cache is Python's)."""
    return _native.Extractor(
        num_perm=cfg.num_perm,
        seed=cfg.seed,
        shingle_size=cfg.shingle_size,
        id_tokens=cfg.id_tokens,
        plain_id_tokens=cfg.plain_id_tokens,
        min_wrapper_tokens=cfg.min_wrapper_tokens,
        wrapper_cue_share=cfg.wrapper_cue_share,
        label_max_tokens=cfg.label_max_tokens,
        max_prompt_chars=cfg.max_prompt_chars,
        length_buckets=list(cfg.length_buckets),
        slot_quotes=cfg.slot_quotes,
        slot_named_entities=cfg.slot_named_entities,
        slot_list_markers=cfg.slot_list_markers,
    )


class TemplateExtractor:
    """Pure function from prompt text to ``TemplateMatch``, memoised per exact prompt.

    Holds the native core (built once from the config) and a bounded LRU of
    recent matches: a prompt seen again verbatim (retries, fixed prompts,
    benchmark loops) costs one dict lookup instead of a full extraction.
    """

    __slots__ = ("_cache", "_core", "_empty", "config")

    def __init__(self, config: TemplateConfig | None = None) -> None:
        cfg = self.config = config or DEFAULT_CONFIG
        self._core = native_extractor(cfg)
        self._empty = TemplateMatch(
            template_id=EMPTY_TEMPLATE_ID,
            exact_id=EMPTY_TEMPLATE_ID,
            minhash=(0xFFFFFFFF,) * cfg.num_perm,
            features=frozenset({"empty_prompt"}),
        )
        self._cache: OrderedDict[Key, TemplateMatch] = OrderedDict()

    def _cached(self, key: Key) -> TemplateMatch | None:
        match = self._cache.get(key)
        if match is not None:
            self._cache.move_to_end(key)
        return match

    def _remember(self, key: Key, match: TemplateMatch) -> None:
        if self.config.cache_size:
            self._cache[key] = match
            if len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)

    def _key(self, prompt: str | None, system_prompt: str | None) -> Key:
        limit = self.config.max_prompt_chars
        system = _bounded(system_prompt, limit) if system_prompt else None
        return _bounded(prompt or "", limit), system

    def _fingerprint_match(self, fingerprint: PromptFingerprint) -> TemplateMatch:
        if len(fingerprint.minhash) != self.config.num_perm:
            raise ConfigError(
                f"fingerprint minhash has {len(fingerprint.minhash)} values, "
                f"expected {self.config.num_perm}"
            )
        return TemplateMatch(
            template_id=fingerprint.template_id,
            exact_id=fingerprint.template_id,
            minhash=tuple(fingerprint.minhash),
            features=frozenset({"privacy_mode"}),
            wrapper=fingerprint.template_id.startswith(WRAPPER_PREFIX),
        )

    def _failed(self, key: Key) -> TemplateMatch:
        """A plain match of its own for a prompt the native core failed on."""
        prompt, system = key
        text = f"{system}\n\n{prompt}" if system else prompt
        digest = hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).hexdigest()
        return TemplateMatch(
            template_id=PLAIN_PREFIX + digest,
            exact_id=digest,
            minhash=self._empty.minhash,
            features=frozenset({EXTRACTION_FAILED}),
        )

    def _compute(self, keys: list[Key]) -> list[TemplateMatch]:
        """Matches of distinct bounded keys: one native call for all of them."""
        out = self._core.extract_many(keys)
        refused = [i for i, r in enumerate(out) if isinstance(r, str) and r[:11] == "surrogates:"]
        if refused:
            again = self._core.extract_many([tuple(map(_scalar, keys[i])) for i in refused])
            for i, item in zip(refused, again, strict=True):
                out[i] = item
        return [
            self._failed(key)
            if isinstance(item, str)
            else TemplateMatch(
                template_id=item[0],
                exact_id=item[1],
                minhash=tuple(item[2]),
                features=frozenset(item[3]),
                wrapper=item[4],
                skeleton=item[5],
            )
            for key, item in zip(keys, out, strict=True)
        ]

    def extract_texts(self, texts: list[tuple[str | None, str | None]]) -> list[TemplateMatch]:
        """Templates of many (prompt, system prompt) pairs: ``extract`` of each pair.

        All prompts not in the cache go to the native core in one call (which runs
        without the GIL), and a prompt repeated within the batch is extracted once.
        """
        empty: Key = ("", None)
        keys = [self._key(p, s) if p or s else empty for p, s in texts]
        found: dict[Key, TemplateMatch] = {empty: self._empty}
        pending: dict[Key, None] = {}
        for key in keys:
            if key in found or key in pending:
                continue
            match = self._cached(key)
            if match is not None:
                found[key] = match
            else:
                pending[key] = None
        if pending:
            missing = list(pending)
            for key, match in zip(missing, self._compute(missing), strict=True):
                found[key] = match
                self._remember(key, match)
        return [found[key] for key in keys]

    def extract(
        self,
        prompt: str | None,
        system_prompt: str | None = None,
        fingerprint: PromptFingerprint | None = None,
    ) -> TemplateMatch:
        """Template of one request; text wins over a fingerprint when both are present.

        Raises ``ConfigError`` for a fingerprint whose MinHash length does not
        match this extractor's ``num_perm`` (a gateway on different settings),
        so the caller can dead-letter it instead of comparing garbage.
        """
        if not prompt and not system_prompt:
            if fingerprint is None:
                return self._empty
            return self._fingerprint_match(fingerprint)
        key = self._key(prompt, system_prompt)
        match = self._cached(key)
        if match is None:
            (match,) = self._compute([key])
            self._remember(key, match)
        return match
