//! `skeleton`: the instruction runs at both ends, the rest one payload slot.

use std::sync::LazyLock;

use regex::Regex;
use rustc_hash::{FxHashMap, FxHashSet};

use super::lexicon::{
    words, CUE_PHRASES, ENUMERATION_NOUNS, FIRST_PERSON, META_LABELS, STRONG_CUE_WORDS,
    WEAK_CUE_WORDS,
};
use super::pyunicode::{is_space, pattern};
use super::tokens::canonical_tokens;
use super::PAYLOAD;

static SLOT_ONLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&pattern(r"\A(?:[{S}]*</?#?[{W}]+>)+[{S}]*[.!?:;,]?\z")).expect("a valid pattern")
});

/// The wrapper view of a prompt: text with payload slotted, and its canonical tokens.
pub struct Skeleton {
    pub text: String,
    pub has_payload: bool,
}

impl Skeleton {
    pub fn tokens(&self) -> Vec<&str> {
        canonical_tokens(&self.text)
    }
}

fn slot_only(text: &str) -> bool {
    text.contains('<') && SLOT_ONLY.is_match(text)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Instruction,
    Plain,
    Forced,
}

struct Segment<'a> {
    kind: Kind,
    block: usize,
    text: &'a str,
}

/// `_SENTENCE_SPLIT.split(line)`: whitespace runs after `.!?:;`, `<#quote>` or `<#code>`.
fn sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let bytes = line.as_bytes();
    while i < line.len() {
        let c = line[i..].chars().next().expect("a character");
        if !is_space(c) {
            i += c.len_utf8();
            continue;
        }
        let mut end = i;
        while end < line.len() {
            let d = line[end..].chars().next().expect("a character");
            if !is_space(d) {
                break;
            }
            end += d.len_utf8();
        }
        let before = &line[..i];
        let splits = matches!(
            bytes.get(i.wrapping_sub(1)),
            Some(b'.' | b'!' | b'?' | b':' | b';')
        ) || before.ends_with("<#quote>")
            || before.ends_with("<#code>");
        if splits {
            out.push(&line[start..i]);
            start = end;
        }
        i = end;
    }
    out.push(&line[start..]);
    out.retain(|s| !s.is_empty());
    out
}

fn has_cue(words: &[&str], segment: &str) -> bool {
    if words.iter().any(|w| STRONG_CUE_WORDS.contains(w)) || CUE_PHRASES.found_in(words, segment) {
        return true;
    }
    if segment.starts_with("be ") {
        return true;
    }
    let weak: FxHashSet<&str> = words
        .iter()
        .copied()
        .filter(|w| WEAK_CUE_WORDS.contains(w))
        .collect();
    weak.len() >= 2
}

#[derive(PartialEq, Eq)]
enum Colon {
    None,
    Meta,
    Intro,
    Plain,
}

fn colon_kind(words: &[&str], cue: bool, label_max_tokens: usize) -> Colon {
    let short = words.len() <= label_max_tokens && !words.iter().any(|w| FIRST_PERSON.contains(w));
    if short && words.iter().any(|w| META_LABELS.contains(w)) {
        return Colon::Meta;
    }
    if words.last().is_some_and(|w| ENUMERATION_NOUNS.contains(w)) {
        return Colon::Meta;
    }
    if cue || short {
        return Colon::Intro;
    }
    Colon::Plain
}

fn mostly_instruction(segments: &[&Segment<'_>], share: f64) -> bool {
    let mut inst = 0usize;
    let mut total = 0usize;
    for seg in segments {
        if seg.kind == Kind::Forced {
            continue;
        }
        let n = seg.text.chars().count();
        total += n;
        if seg.kind == Kind::Instruction {
            inst += n;
        }
    }
    inst as f64 >= share * total as f64
}

fn classify(normalised: &str, label_max_tokens: usize, share: f64) -> Vec<Segment<'_>> {
    let mut out: Vec<Segment<'_>> = Vec::new();
    let mut force_block: Option<usize> = None;
    let mut seen_payload = false;
    for (b, block) in normalised.split("\n\n").enumerate() {
        let lines: Vec<&str> = block.split('\n').filter(|l| !l.is_empty()).collect();
        let mut forcing = force_block == Some(b);
        let start = out.len();
        for (li, line) in lines.iter().enumerate() {
            let segments = sentences(line);
            if forcing {
                out.extend(segments.iter().map(|s| Segment {
                    kind: Kind::Forced,
                    block: b,
                    text: s,
                }));
                forcing = !slot_only(line);
                continue;
            }
            for (si, seg) in segments.iter().enumerate() {
                if slot_only(seg) {
                    out.push(Segment {
                        kind: Kind::Forced,
                        block: b,
                        text: seg,
                    });
                    continue;
                }
                let words = words(seg);
                let cue = has_cue(&words, seg);
                let colon = if seg.ends_with(':') {
                    colon_kind(&words, cue, label_max_tokens)
                } else {
                    Colon::None
                };
                if colon != Colon::Intro || seen_payload {
                    let is_instruction =
                        cue || seg.starts_with('#') || matches!(colon, Colon::Meta | Colon::Intro);
                    let kind = if is_instruction {
                        Kind::Instruction
                    } else {
                        Kind::Plain
                    };
                    out.push(Segment {
                        kind,
                        block: b,
                        text: seg,
                    });
                    continue;
                }
                out.push(Segment {
                    kind: Kind::Instruction,
                    block: b,
                    text: seg,
                });
                out.extend(segments[si + 1..].iter().map(|s| Segment {
                    kind: Kind::Forced,
                    block: b,
                    text: s,
                }));
                if si == segments.len() - 1 {
                    if li < lines.len() - 1 {
                        forcing = true;
                    } else {
                        force_block = Some(b + 1);
                    }
                }
                break;
            }
        }
        let block_segments: Vec<&Segment<'_>> = out[start..].iter().collect();
        if block_segments.iter().any(|s| s.kind == Kind::Forced)
            || !mostly_instruction(&block_segments, share)
        {
            seen_payload = true;
        }
    }
    out
}

fn instruction_blocks(segments: &[Segment<'_>], share: f64) -> FxHashSet<usize> {
    let mut by_block: FxHashMap<usize, Vec<&Segment<'_>>> = FxHashMap::default();
    for seg in segments {
        by_block.entry(seg.block).or_default().push(seg);
    }
    by_block
        .into_iter()
        .filter(|(_, segs)| mostly_instruction(segs, share))
        .map(|(b, _)| b)
        .collect()
}

fn run(segments: &[Segment<'_>], order: &[usize], blocks: &FxHashSet<usize>) -> Vec<usize> {
    let mut taken = Vec::new();
    for (pos, &i) in order.iter().enumerate() {
        let seg = &segments[i];
        if !blocks.contains(&seg.block) {
            break;
        }
        if seg.kind == Kind::Instruction {
            taken.push(i);
            continue;
        }
        if seg.kind == Kind::Plain && pos + 1 < order.len() {
            let next = &segments[order[pos + 1]];
            if next.kind == Kind::Instruction && next.block == seg.block {
                taken.push(i);
                continue;
            }
        }
        break;
    }
    taken
}

/// Skeleton of `normalise`d text.
pub fn skeleton(normalised: &str, label_max_tokens: usize, share: f64) -> Skeleton {
    let segments = classify(normalised, label_max_tokens, share);
    let blocks = instruction_blocks(&segments, share);
    let n = segments.len();
    let order: Vec<usize> = (0..n).collect();
    let prefix = run(&segments, &order, &blocks);
    let rest: Vec<usize> = (prefix.len()..n).rev().collect();
    let mut keep = vec![false; n];
    for i in prefix.into_iter().chain(run(&segments, &rest, &blocks)) {
        keep[i] = true;
    }
    let mut text = String::with_capacity(normalised.len());
    let mut last_piece_payload = false;
    let mut any = false;
    let mut has_payload = false;
    let mut last_block = 0;
    for (i, seg) in segments.iter().enumerate() {
        let piece = if keep[i] { seg.text } else { PAYLOAD };
        let is_payload = piece == PAYLOAD;
        if is_payload && any && last_piece_payload {
            continue;
        }
        if any {
            text.push_str(if seg.block != last_block { "\n\n" } else { " " });
        }
        text.push_str(piece);
        any = true;
        last_piece_payload = is_payload;
        has_payload |= is_payload;
        last_block = seg.block;
    }
    Skeleton { text, has_payload }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences_like_the_python_pattern() {
        assert_eq!(
            sentences("a. b c: d <#quote> e"),
            ["a.", "b c:", "d <#quote>", "e"]
        );
        assert_eq!(sentences("x.y z"), ["x.y z"]);
    }

    #[test]
    fn wrapper_around_payload() {
        let s = skeleton(
            "solve the following problem step by step:\n\nwhat is <#num> plus <#num>?\n\nrespond in json.",
            4,
            0.5,
        );
        assert!(s.has_payload);
        assert_eq!(
            s.text,
            "solve the following problem step by step:\n\n<#payload>\n\nrespond in json."
        );
    }
}
