"""Template extraction, Python against native, on the same prompts in the same run.

Usage: ``.venv/bin/python -m bench.native_templates [--scenario small] [--seed 1] [--batch 512]``

Prints one JSON line: prompts per CPU second of ``TemplateExtractor.extract_texts`` (match
cache off, so every distinct prompt is extracted) and of ``streams._native.Extractor
.extract_many``, over the distinct (prompt, system prompt) pairs of a simulated scenario fed
in batches of ``--batch``, and their ratio.  CPU time of this process (``time.process_time``):
the native call releases the GIL but runs on the calling thread.
"""

from __future__ import annotations

import argparse
import time

from bench.common import emit
from streams import _native
from streams.simulation import simulate
from streams.templates import TemplateConfig, TemplateExtractor


def _native_for(cfg: TemplateConfig) -> _native.Extractor:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=512)
    args = parser.parse_args()

    events = simulate(args.scenario, args.seed).events
    pairs = list(dict.fromkeys((e.prompt, e.system_prompt) for e in events))
    batches = [pairs[i : i + args.batch] for i in range(0, len(pairs), args.batch)]
    cfg = TemplateConfig(cache_size=0)
    py, nat = TemplateExtractor(cfg), _native_for(cfg)
    py.extract_texts(batches[0][:8])  # warm-up: lazily compiled patterns and tables
    nat.extract_many(batches[0][:8])

    start = time.process_time()
    for batch in batches:
        py.extract_texts(batch)
    py_s = time.process_time() - start
    start = time.process_time()
    refused = 0
    for batch in batches:
        refused += sum(isinstance(r, str) for r in nat.extract_many(batch))
    native_s = time.process_time() - start

    py_rate = len(pairs) / py_s
    native_rate = len(pairs) / native_s
    emit(
        "native_templates",
        scenario=args.scenario,
        seed=args.seed,
        prompts=len(pairs),
        batch=args.batch,
        python_prompts_per_s=round(py_rate, 1),
        native_prompts_per_s=round(native_rate, 1),
        speedup=round(native_rate / py_rate, 2),
        native_refused=refused,
    )


if __name__ == "__main__":
    main()
