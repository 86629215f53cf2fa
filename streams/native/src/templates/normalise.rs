//! `normalise`: volatile material slotted, case and whitespace folded; `fold_confusables`:
//! look-alike letters and invisible characters folded before anything reads the text.
//!
//! The patterns are those of the Python module with `\w`, `\d`, `\s` spelled as Python's
//! classes (see `pyunicode`).  Patterns with look-around or a back-reference run on
//! `fancy-regex`, a backtracking engine like Python's `re`, so they match what `re` matches;
//! the others run on `regex`, whose leftmost-first matches are a backtracking engine's.

use std::borrow::Cow;
use std::sync::LazyLock;

use fancy_regex::{Captures as FancyCaptures, Regex as Fancy, RegexBuilder as FancyBuilder};
use regex::{NoExpand, Regex};
use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton as uts39_skeleton;
use unicode_security::MixedScript;

use super::lexicon::NOT_NAMES;
use super::pyunicode::{is_space, lower, pattern, split, strip};
use super::{Config, ExtractError};

/// Python's `re` has no step limit; this one only guards against a runaway pattern.
const BACKTRACK_LIMIT: usize = 1 << 32;

fn fancy(template: &str) -> Fancy {
    FancyBuilder::new(&pattern(template))
        .backtrack_limit(BACKTRACK_LIMIT)
        .build()
        .expect("a valid pattern")
}

fn plain(template: &str) -> Regex {
    Regex::new(&pattern(template)).expect("a valid pattern")
}

static FENCED_CODE: LazyLock<Regex> = LazyLock::new(|| plain(r"(?s)```[^\n`]*\n?.*?(?:```|\z)"));
static INDENTED_CODE: LazyLock<Regex> =
    LazyLock::new(|| plain(r"(?:\n(?: {4}|\t)[^\n]*[^{S}][^\n]*)+"));
// The text is lower-cased before this rule, so the back-reference compares exactly, as
// `re.IGNORECASE` does on lower-case text; the name classes are those IGNORECASE gives.
static ELEMENT: LazyLock<Fancy> =
    LazyLock::new(|| fancy(r"(?s)<([{TAG0}][{TAG1}]{0,30})>(.+?)</\1>"));
static LIST_MARKER: LazyLock<Fancy> = LazyLock::new(|| {
    fancy(r"\n[ \t]*(?:[\-*\x{2022}+]|[{D}]{1,3}[.)]|[a-zA-Z][.)])[ \t]+(?=[^{S}])")
});
static URL: LazyLock<Fancy> =
    LazyLock::new(|| fancy(r"(?:h(?<![{W}>].)ttps?://|w(?<![{W}>].)ww\.)[^{S}]+"));
// `\b` with Python's `\w`: the first character is in [\w.+-].
static EMAIL: LazyLock<Fancy> = LazyLock::new(|| {
    fancy(r"(?:(?<![{W}])(?=[{W}])|(?<=[{W}])(?![{W}]))[{W}.+\-]+@[{W}\-]+(?:\.[{W}\-]+)+")
});
static HEXLIKE: LazyLock<Fancy> = LazyLock::new(|| {
    fancy(r"[0-9a-fA-F](?<![{W}>].)(?:[xX][0-9a-fA-F]+|[0-9a-fA-F\-]{7,})(?![{W}<\-])")
});
static UUID: LazyLock<Regex> = LazyLock::new(|| {
    plain(r"\A[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\z")
});
static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| plain(r"[{D}]+(?:[.,][{D}]+)*(?:[eE][\-+]?[{D}]+)?"));
static BRACES: LazyLock<Regex> = LazyLock::new(|| plain(r"\{[^{}\n]*\}"));
static QUOTE: LazyLock<Fancy> = LazyLock::new(|| {
    fancy(concat!(
        r#"(?s)"""(?:.+?)""""#,
        r#"|"(?:(?P<w1>[{W}]{1,30})|[^"\n]+)""#,
        r"|\x{201c}(?:(?P<w2>[{W}]{1,30})|[^\x{201d}\n]+)\x{201d}",
        r"|`[^`\n]+`",
        r"|'(?<![{W}'>]')(?:(?P<w3>[{W}]{1,30})|[^'\n]+)'(?![{W}'<])",
    ))
});
static NAME: LazyLock<Fancy> =
    LazyLock::new(|| fancy(r"[A-Z](?<=[a-z0-9][ \t].)[a-z]+(?: [A-Z][a-z]+)*(?![{W}])"));
// Necessary conditions of the fancy patterns, without look-around: a text none of them
// matches is left alone without running the backtracking engine over it.
static MAY_LIST_MARKER: LazyLock<Regex> =
    LazyLock::new(|| plain(r"\n[ \t]*(?:[\-*\x{2022}+]|[{D}]{1,3}[.)]|[a-zA-Z][.)])[ \t]+[^{S}]"));
static MAY_HEXLIKE: LazyLock<Regex> =
    LazyLock::new(|| plain(r"[0-9a-fA-F](?:[xX][0-9a-fA-F]|[0-9a-fA-F\-]{7})"));
static MAY_NAME: LazyLock<Regex> = LazyLock::new(|| plain(r"[a-z0-9][ \t][A-Z][a-z]"));
static BLANK_LINES: LazyLock<Regex> = LazyLock::new(|| plain(r"\n{3,}"));

/// Fullwidth forms and mathematical alphanumerics: Latin letters and digits in disguise,
/// never a language's own spelling; NFKC gives their plain form.
fn is_compat_letter(c: char) -> bool {
    matches!(c as u32, 0xFF01..=0xFF5E | 0x1D400..=0x1D7FF)
}

fn is_invisible(c: char) -> bool {
    let mut buf = [0u8; 4];
    // The UTS #39 skeleton drops exactly the default-ignorable code points.
    !c.is_ascii() && uts39_skeleton(c.encode_utf8(&mut buf)).next().is_none()
}

/// The Latin letters a reader takes `c` for: the UTS #39 skeleton of `c` recomposed (NFC),
/// when every character of it is a Latin letter; `None` keeps `c`.
fn latin_prototype(c: char) -> Option<String> {
    let mut buf = [0u8; 4];
    let proto: String = uts39_skeleton(c.encode_utf8(&mut buf)).nfc().collect();
    let latin = |p: char| p.is_ascii_alphabetic() || matches!(p as u32, 0xC0..=0x24F);
    (proto.chars().ne(std::iter::once(c)) && !proto.is_empty() && proto.chars().all(latin))
        .then_some(proto)
}

/// One word (letters, digits and the invisible characters inside them) as a reader sees it.
fn fold_word(word: &str, out: &mut String) {
    let visible: String = word.chars().filter(|&c| !is_invisible(c)).collect();
    let compat: String = if visible.chars().any(is_compat_letter) {
        visible
            .chars()
            .flat_map(|c| {
                let keep = (!is_compat_letter(c)).then_some(c);
                keep.into_iter()
                    .chain(std::iter::once(c).filter(|&c| is_compat_letter(c)).nfkc())
            })
            .collect()
    } else {
        visible
    };
    // Only a word that mixes scripts (Latin with Cyrillic look-alikes, Cyrillic with Greek)
    // is a disguise: a word wholly in one script is that language's own spelling.
    if compat.is_ascii() || compat.as_str().is_single_script() {
        out.push_str(&compat);
        return;
    }
    for c in compat.chars() {
        // A capital with no Latin look-alike can have one once lower-cased (`Þ`, `þ`);
        // folding it now keeps `normalise` idempotent.
        let proto = (!c.is_ascii())
            .then(|| {
                latin_prototype(c).or_else(|| {
                    let mut lower = c.to_lowercase();
                    match (lower.next(), lower.next()) {
                        (Some(l), None) if l != c => latin_prototype(l),
                        _ => None,
                    }
                })
            })
            .flatten();
        match proto {
            Some(proto) => out.push_str(&proto),
            None => out.push(c),
        }
    }
}

/// The text as a reader sees it: default-ignorable code points (zero-width space and
/// joiners, word joiner, soft hyphen, BOM, bidi controls, variation selectors) removed,
/// fullwidth and mathematical letters made plain (NFKC), and in each word that mixes
/// scripts every look-alike of a Latin letter (Cyrillic `а`, Greek `Ο`) replaced by it,
/// following the UTS #39 confusable skeleton.  ASCII is never changed (digits stay digits),
/// plain text costs one scan, and words wholly in one script (Russian, Greek) keep their
/// letters.  Wrappers that hide their trigger words with such characters thus get the
/// template id, MinHash and features of their plain form.
pub fn fold_confusables(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let in_word = |c: char| c.is_alphanumeric() || is_invisible(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| in_word(c)) {
        out.push_str(&rest[..start]);
        let word = &rest[start..];
        let end = word.find(|c: char| !in_word(c)).unwrap_or(word.len());
        if word[..end].is_ascii() {
            out.push_str(&word[..end]);
        } else {
            fold_word(&word[..end], &mut out);
        }
        rest = &word[end..];
    }
    out.push_str(rest);
    if out == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(out)
    }
}

/// `pattern.subn(repl, text)` on a fancy pattern; `None` when nothing matched.
fn fancy_sub(
    re: &Fancy,
    text: &str,
    mut repl: impl FnMut(&FancyCaptures<'_>) -> String,
) -> Result<Option<String>, ExtractError> {
    let mut out = String::new();
    let mut last = 0;
    let mut count = 0usize;
    for caps in re.captures_iter(text) {
        let caps = caps.map_err(|e| ExtractError::Regex(e.to_string()))?;
        let m = caps.get(0).expect("group 0 of a match");
        out.push_str(&text[last..m.start()]);
        out.push_str(&repl(&caps));
        last = m.end();
        count += 1;
    }
    if count == 0 {
        return Ok(None);
    }
    out.push_str(&text[last..]);
    Ok(Some(out))
}

fn fancy_sub_all(
    re: &Fancy,
    text: String,
    repl: impl FnMut(&FancyCaptures<'_>) -> String,
) -> Result<String, ExtractError> {
    Ok(fancy_sub(re, &text, repl)?.unwrap_or(text))
}

/// `_until_fixed` on a fancy pattern.
fn fancy_until_fixed(
    re: &Fancy,
    mut text: String,
    mut repl: impl FnMut(&FancyCaptures<'_>) -> String,
) -> Result<String, ExtractError> {
    while let Some(next) = fancy_sub(re, &text, &mut repl)? {
        text = next;
    }
    Ok(text)
}

fn sub(re: &Regex, text: String, repl: &str) -> String {
    match re.replace_all(&text, NoExpand(repl)) {
        Cow::Borrowed(_) => text,
        Cow::Owned(s) => s,
    }
}

fn name_slot(caps: &FancyCaptures<'_>) -> String {
    let found = caps.get(0).expect("group 0").as_str();
    if found
        .split(' ')
        .all(|w| NOT_NAMES.contains(w.to_ascii_lowercase().as_str()))
    {
        found.to_string()
    } else {
        "<#name>".to_string()
    }
}

fn quote_slot(caps: &FancyCaptures<'_>) -> String {
    ["w1", "w2", "w3"]
        .iter()
        .find_map(|g| caps.name(g).map(|m| m.as_str().to_string()))
        .unwrap_or_else(|| "<#quote>".to_string())
}

fn is_hex_digit(c: char) -> bool {
    c.is_ascii_hexdigit()
}

fn hex_slot(caps: &FancyCaptures<'_>) -> String {
    let token = caps.get(0).expect("group 0").as_str();
    if UUID.is_match(token) {
        return "<#uuid>".to_string();
    }
    if (token.starts_with("0x") || token.starts_with("0X"))
        && token.len() > 2
        && token[2..].chars().all(is_hex_digit)
    {
        return "<#hex>".to_string();
    }
    if token.chars().all(is_hex_digit)
        && token.chars().any(|c| c.is_ascii_digit())
        && token.chars().any(|c| c.is_ascii_alphabetic())
    {
        return "<#hex>".to_string();
    }
    token.to_string()
}

/// The first step of extraction.
pub fn normalise(prompt: &str, cfg: &Config) -> Result<String, ExtractError> {
    let prompt = fold_confusables(prompt);
    let mut text = String::with_capacity(prompt.len() + 1);
    text.push('\n');
    if prompt.contains('\r') {
        text.push_str(&prompt.replace("\r\n", "\n").replace('\r', "\n"));
    } else {
        text.push_str(&prompt);
    }
    if text
        .chars()
        .any(|c| is_space(c) && !matches!(c, '\n' | '\t' | ' '))
    {
        text = text
            .chars()
            .map(|c| {
                if is_space(c) && !matches!(c, '\n' | '\t' | ' ') {
                    ' '
                } else {
                    c
                }
            })
            .collect();
    }
    if cfg.slot_named_entities && MAY_NAME.is_match(&text) {
        text = fancy_sub_all(&NAME, text, name_slot)?;
    }
    let mut text = lower(&text);
    if text.contains("```") {
        text = sub(&FENCED_CODE, text, "\n<#code>\n");
    }
    if text.contains("\n    ") || text.contains("\n\t") {
        text = sub(&INDENTED_CODE, text, "\n<#code>");
    }
    if text.contains("</") {
        text = fancy_until_fixed(&ELEMENT, text, |caps: &FancyCaptures<'_>| {
            format!("<{}> <#quote>", &caps[1])
        })?;
    }
    if cfg.slot_list_markers && MAY_LIST_MARKER.is_match(&text) {
        text = fancy_sub_all(&LIST_MARKER, text, |_| "\n<#item> ".to_string())?;
    }
    if text.contains("://") || text.contains("www.") {
        text = fancy_sub_all(&URL, text, |_| "<#url>".to_string())?;
    }
    if text.contains('@') {
        text = fancy_sub_all(&EMAIL, text, |_| "<#email>".to_string())?;
    }
    if MAY_HEXLIKE.is_match(&text) {
        text = fancy_sub_all(&HEXLIKE, text, hex_slot)?;
    }
    text = sub(&NUMBER, text, "<#num>");
    if text.contains('{') {
        while BRACES.is_match(&text) {
            text = sub(&BRACES, text, "<#json>");
        }
    }
    if cfg.slot_quotes && text.contains(['"', '\u{201c}', '`', '\'']) {
        text = fancy_until_fixed(&QUOTE, text, quote_slot)?;
    }
    let mut folded = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            folded.push('\n');
        }
        for (j, word) in split(line).enumerate() {
            if j > 0 {
                folded.push(' ');
            }
            folded.push_str(word);
        }
    }
    let folded = match BLANK_LINES.replace_all(&folded, NoExpand("\n\n")) {
        Cow::Borrowed(_) => folded,
        Cow::Owned(s) => s,
    };
    Ok(strip(&folded).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalise(s, &Config::default()).unwrap()
    }

    #[test]
    fn slots_volatile_material() {
        assert_eq!(
            norm("Call Bob Smith at 555-1234"),
            "call <#name> at <#num>-<#num>"
        );
        assert_eq!(
            norm("see https://x.io/a and www.y.com"),
            "see <#url> and <#url>"
        );
        assert_eq!(norm("mail a.b@c.de now"), "mail <#email> now");
        assert_eq!(norm("id 0xdeadbeef"), "id <#hex>");
        assert_eq!(
            norm("say \"hello\" and 'two words'"),
            "say hello and <#quote>"
        );
        assert_eq!(norm("x\n- a\n- b"), "x\n<#item> a\n<#item> b");
        assert_eq!(
            norm("<task>Do it</task> {\"a\": {\"b\": 1}}"),
            "<task> <#quote> <#json>"
        );
    }

    #[test]
    fn confusables_and_invisible_characters_fold_to_the_plain_text() {
        let disguised = "Th\u{0456}nk st\u{200b}ep by\u{00a0}step, ans\u{00ad}wer in \u{0408}\u{0405}\u{039f}\u{039d} \u{ff2a}SON";
        assert_eq!(
            fold_confusables(disguised),
            "Think step by\u{00a0}step, answer in JSON JSON"
        );
        // accented Latin, whole words of other scripts' own letters and CJK are kept
        for kept in ["café naïve", "日本語のテキスト", "plain ascii 0123", "Здравствуйте, объясни"] {
            assert!(matches!(fold_confusables(kept), Cow::Borrowed(_)), "{kept}");
        }
        assert_eq!(
            norm(disguised),
            norm("Think step by step, answer in JSON JSON")
        );
    }

    #[test]
    fn answer_in_french_stays() {
        assert_eq!(norm("Please answer in French."), "please answer in french.");
    }

    #[test]
    fn idempotent_on_samples() {
        for s in [
            "Solve: 2+2=?  \n\n\n ```py\nx=1\n```",
            "Ünïcödé ΣΑΣ “quoted words”",
        ] {
            let once = norm(s);
            assert_eq!(norm(&once), once);
        }
    }
}
