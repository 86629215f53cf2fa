"""Privacy-mode fingerprints, computed inside the API gateway.

A gateway that must not ship prompt text imports this module and publishes a
``PromptFingerprint`` instead: the template id and the MinHash of the
skeleton's shingles.  Both are one-way (hashes of hashes of canonical tokens)
and are bit-identical to what the detector would compute from the text, as
long as both sides use the same ``TemplateConfig``.
"""

from __future__ import annotations

from functools import lru_cache

from streams.records import PromptFingerprint
from streams.templates.extractor import TemplateExtractor


@lru_cache(maxsize=1)
def _extractor() -> TemplateExtractor:
    """Built once per process: it only holds the (seeded, immutable) MinHash family."""
    return TemplateExtractor()


def prompt_fingerprint(
    prompt: str,
    *,
    system_prompt: str | None = None,
    extractor: TemplateExtractor | None = None,
) -> PromptFingerprint:
    """Fingerprint of a prompt (and optional system prompt) without the text itself.

    Pass the gateway's own ``extractor`` when it runs non-default template
    settings; the default one matches ``TemplateConfig()``.
    """
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be str, got {type(prompt).__name__}")
    match = (extractor or _extractor()).extract(prompt, system_prompt)
    return PromptFingerprint(template_id=match.template_id, minhash=match.minhash)


def prompt_fingerprints(
    prompts: list[tuple[str, str | None]], *, extractor: TemplateExtractor | None = None
) -> list[PromptFingerprint]:
    """Fingerprints of a batch of (prompt, system prompt) pairs, equal to ``prompt_fingerprint``
    of each; the MinHash of the whole batch is one vectorised numpy pass, which is what a
    gateway fingerprinting its request stream in batches should call.
    """
    for prompt, _system in prompts:
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be str, got {type(prompt).__name__}")
    matches = (extractor or _extractor()).extract_texts(prompts)
    return [PromptFingerprint(template_id=m.template_id, minhash=m.minhash) for m in matches]
