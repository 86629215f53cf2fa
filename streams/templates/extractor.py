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
"""

from __future__ import annotations

import hashlib
import struct
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from streams.config import WRAPPER_PREFIX, TemplateConfig
from streams.errors import ConfigError
from streams.records import PromptFingerprint
from streams.sketches.minhash import MinHasher, combine_ngrams, stable_hash64
from streams.templates.features import prompt_features
from streams.templates.normalise import DEFAULT_CONFIG, PAYLOAD, normalise
from streams.templates.skeleton import Skeleton, canonical_tokens, plain_tokens, skeleton

PLAIN_PREFIX = "p-"
"""Template ids of prompts without a wrapper: derived from the whole prompt."""
EMPTY_TEMPLATE_ID = "empty"
"""Template id of an event with no prompt text at all."""


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


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _bounded(text: str, limit: int) -> str:
    """Cap the work per prompt; wrappers live at the ends, so keep head and tail."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n\n{text[-half:]}"


def _shingles(token_hashes: np.ndarray, shingle_size: int) -> np.ndarray:
    """Hashes of all 1..shingle_size word n-grams, mixed from the token hashes."""
    grams = [token_hashes, *(combine_ngrams(token_hashes, n) for n in range(2, shingle_size + 1))]
    return np.concatenate(grams) if len(grams) > 1 else token_hashes


@dataclass(frozen=True, slots=True)
class _Analysis:
    """Everything of a ``TemplateMatch`` but the MinHash, which is computed per batch."""

    template_id: str
    exact_id: str
    token_hashes: np.ndarray
    features: frozenset[str]
    wrapper: bool
    skeleton: str

    def match(self, signature: np.ndarray) -> TemplateMatch:
        return TemplateMatch(
            template_id=self.template_id,
            exact_id=self.exact_id,
            minhash=tuple(signature.tolist()),
            features=self.features,
            wrapper=self.wrapper,
            skeleton=self.skeleton,
        )


def _analyse(cfg: TemplateConfig, prompt: str, system: str | None) -> _Analysis:
    """Template of a (bounded) prompt and system prompt, MinHash aside: a pure function."""
    norm = normalise(prompt, cfg)
    skel = skeleton(norm, cfg)
    sys_norm = normalise(system, cfg) if system else ""
    if sys_norm:
        # A system prompt is fixed per application: wrapper by definition, and a
        # user message without a wrapper of its own is then the payload.
        body = skel if skel.has_payload else Skeleton(PAYLOAD, (PAYLOAD,), True)
        skel = Skeleton(
            text=f"{sys_norm}\n\n{body.text}",
            tokens=tuple(canonical_tokens(sys_norm)) + body.tokens,
            has_payload=True,
        )
    is_wrapper = skel.has_payload and len(skel.wrapper_tokens) >= cfg.min_wrapper_tokens
    if is_wrapper:
        text, id_tokens = skel.text, skel.tokens
        k, prefix = cfg.id_tokens, WRAPPER_PREFIX
    else:
        text = f"{sys_norm}\n\n{norm}" if sys_norm else norm
        id_tokens = tuple(plain_tokens(text))
        k, prefix = cfg.plain_id_tokens, PLAIN_PREFIX
    exact_id = _digest(text.encode("utf-8", "surrogatepass"))
    hashes = [stable_hash64(t) for t in id_tokens]
    if hashes:
        bottom = sorted(set(hashes))[:k]  # the bottom-k sketch of distinct token hashes
        template_id = prefix + _digest(struct.pack(f"<{len(bottom)}Q", *bottom))
    else:
        template_id = prefix + exact_id
    features = prompt_features(prompt, system, cfg)
    if is_wrapper:
        features = features | {"has_wrapper"}
    return _Analysis(
        template_id=template_id,
        exact_id=exact_id,
        token_hashes=np.array(hashes, dtype=np.uint64),
        features=features,
        wrapper=is_wrapper,
        skeleton=text if is_wrapper else "",
    )


class TemplateExtractor:
    """Pure function from prompt text to ``TemplateMatch``, memoised per exact prompt.

    Holds only the MinHash family and a bounded LRU of recent matches: a
    prompt seen again verbatim (retries, fixed prompts, benchmark loops)
    costs one dict lookup instead of a full extraction.
    """

    __slots__ = ("_cache", "_empty", "_hasher", "config")

    def __init__(self, config: TemplateConfig | None = None) -> None:
        cfg = self.config = config or DEFAULT_CONFIG
        self._hasher = hasher = MinHasher(cfg.num_perm, cfg.seed)
        self._empty = TemplateMatch(
            template_id=EMPTY_TEMPLATE_ID,
            exact_id=EMPTY_TEMPLATE_ID,
            minhash=tuple(hasher.empty().tolist()),
            features=frozenset({"empty_prompt"}),
        )
        self._cache: OrderedDict[tuple[str, str | None], TemplateMatch] = OrderedDict()

    def _cached(self, key: tuple[str, str | None]) -> TemplateMatch | None:
        match = self._cache.get(key)
        if match is not None:
            self._cache.move_to_end(key)
        return match

    def _remember(self, key: tuple[str, str | None], match: TemplateMatch) -> None:
        if self.config.cache_size:
            self._cache[key] = match
            if len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)

    def _key(self, prompt: str | None, system_prompt: str | None) -> tuple[str, str | None]:
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

    def extract_texts(self, texts: list[tuple[str | None, str | None]]) -> list[TemplateMatch]:
        """Templates of many (prompt, system prompt) pairs: ``extract`` of each pair.

        The MinHash of all prompts not in the cache is computed in one vectorised pass
        (``MinHasher.signatures_of_token_hashes``), and a prompt repeated within the batch
        is analysed once.
        """
        empty = ("", None)
        keys = [self._key(p, s) if p or s else empty for p, s in texts]
        found: dict[tuple[str, str | None], TemplateMatch] = {empty: self._empty}
        pending: dict[tuple[str, str | None], _Analysis] = {}
        for key in keys:
            if key in found or key in pending:
                continue
            match = self._cached(key)
            if match is not None:
                found[key] = match
            else:
                pending[key] = _analyse(self.config, *key)
        if pending:
            signatures = self._hasher.signatures_of_token_hashes(
                [a.token_hashes for a in pending.values()], self.config.shingle_size
            )
            for (key, analysis), signature in zip(pending.items(), signatures, strict=True):
                found[key] = match = analysis.match(signature)
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
            cfg = self.config
            analysis = _analyse(cfg, *key)
            shingles = _shingles(analysis.token_hashes, cfg.shingle_size)
            match = analysis.match(self._hasher.signature_from_hashes(shingles))
            self._remember(key, match)
        return match
