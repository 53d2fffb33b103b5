//! Redaction: the enabled built-in rules and the custom `REDACT_REGEX`, compiled once, rewriting a
//! payload in place. A payload that holds none of the rules' literals costs one multi-literal scan
//! (plus a memchr for `@` with `email`, and one over the dots with `ipv4`); no rule's regex runs.

use regex::Regex;

use super::rules::{Anchor, Matcher, Rule};

/// What `REDACT_REGEX` matches becomes this.
pub const CUSTOM_MARKER: &str = "[REDACTED]";

/// How many matches each rule replaced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedactionCounts {
    by_rule: [u64; Rule::ALL.len()],
    custom: u64,
}

impl RedactionCounts {
    /// Matches `rule` replaced; `None` stands for `REDACT_REGEX`.
    pub fn of(&self, rule: Option<Rule>) -> u64 {
        match rule {
            Some(rule) => self.by_rule[rule.index()],
            None => self.custom,
        }
    }

    /// Counts `replaced` more matches of `rule` (`None`: `REDACT_REGEX`).
    pub fn count(&mut self, rule: Option<Rule>, replaced: u64) {
        match rule {
            Some(rule) => self.by_rule[rule.index()] += replaced,
            None => self.custom += replaced,
        }
    }

    pub fn total(&self) -> u64 {
        self.by_rule.iter().sum::<u64>() + self.custom
    }

    pub fn add(&mut self, other: &RedactionCounts) {
        for (mine, theirs) in self.by_rule.iter_mut().zip(other.by_rule) {
            *mine += theirs;
        }
        self.custom += other.custom;
    }
}

/// A set of rules, one bit per rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Rules(u8);

impl Rules {
    fn with(self, rule: Rule) -> Rules {
        Rules(self.0 | 1 << rule.index())
    }

    fn contains(self, rule: Rule) -> bool {
        self.0 & (1 << rule.index()) != 0
    }
}

/// Decides which rules can match in a text before any of their regexes runs.
#[derive(Debug)]
struct Prefilter {
    /// One alternation of every literal-anchored rule's literals: the regex crate searches it with
    /// a SIMD multi-literal matcher, in one pass.
    literals: Option<Regex>,
    /// Which rule each literal stands for.
    owners: Vec<(&'static str, Rule)>,
    /// Every literal-anchored rule: the literal search can stop once all of them were seen.
    literal_rules: Rules,
    bytes: Vec<(u8, Rule)>,
    always: Rules,
}

impl Prefilter {
    fn new(rules: &[Rule]) -> Prefilter {
        let mut prefilter = Prefilter {
            literals: None,
            owners: Vec::new(),
            literal_rules: Rules::default(),
            bytes: Vec::new(),
            always: Rules::default(),
        };
        for &rule in rules {
            match rule.anchor() {
                Anchor::Literals(literals) => {
                    prefilter.literal_rules = prefilter.literal_rules.with(rule);
                    prefilter
                        .owners
                        .extend(literals.iter().map(|literal| (*literal, rule)));
                }
                Anchor::Byte(byte) => prefilter.bytes.push((byte, rule)),
                Anchor::Always => prefilter.always = prefilter.always.with(rule),
            }
        }
        if !prefilter.owners.is_empty() {
            let alternation: Vec<String> = prefilter
                .owners
                .iter()
                .map(|(literal, _)| regex::escape(literal))
                .collect();
            // Escaped literals always compile.
            prefilter.literals =
                Some(Regex::new(&alternation.join("|")).expect("an alternation of literals"));
        }
        prefilter
    }

    fn candidates(&self, text: &str) -> Rules {
        let mut found = self.always;
        if let Some(literals) = &self.literals {
            for hit in literals.find_iter(text) {
                if let Some((_, rule)) = self.owners.iter().find(|(l, _)| *l == hit.as_str()) {
                    found = found.with(*rule);
                }
                if found.0 & self.literal_rules.0 == self.literal_rules.0 {
                    break;
                }
            }
        }
        for (byte, rule) in &self.bytes {
            if memchr::memchr(*byte, text.as_bytes()).is_some() {
                found = found.with(*rule);
            }
        }
        found
    }
}

/// The compiled redaction: built-in rules in [`Rule::ALL`] order, then the custom pattern.
#[derive(Debug)]
pub struct Redactor {
    matchers: Vec<Matcher>,
    prefilter: Prefilter,
    custom: Option<Regex>,
}

impl Redactor {
    /// `rules` in any order and with repeats; they run in [`Rule::ALL`] order.
    pub fn new(rules: &[Rule], custom: Option<Regex>) -> Redactor {
        let enabled: Vec<Rule> = Rule::ALL
            .into_iter()
            .filter(|rule| rules.contains(rule))
            .collect();
        Redactor {
            matchers: enabled.iter().map(|rule| Matcher::new(*rule)).collect(),
            prefilter: Prefilter::new(&enabled),
            custom,
        }
    }

    /// Replaces every match in `text`, rule by rule, counting into `counts`. Each rule reads the
    /// text as the rules before it left it: a marker never contains what another rule matches.
    pub fn redact(&self, text: &mut String, counts: &mut RedactionCounts) {
        let candidates = self.prefilter.candidates(text);
        self.redact_candidates(text, counts, candidates);
    }

    /// [`Redactor::redact`] with every rule a candidate: what the prefilter must never change.
    #[cfg(test)]
    pub fn redact_unfiltered(&self, text: &mut String, counts: &mut RedactionCounts) {
        self.redact_candidates(text, counts, Rules(u8::MAX));
    }

    /// The largest position at most `max` in `text` that no match spans (starts before it and
    /// ends after it), for the enabled rules and `REDACT_REGEX`; `0` when one match covers all of
    /// `..max`. A cut there leaves every match whole on one side. Here every rule reads `text` as
    /// it is, where redaction has each read what the rules before it left; a marker holds nothing
    /// a rule matches, so redaction finds no match that this misses.
    pub fn safe_cut(&self, text: &str, max: usize) -> usize {
        let candidates = self.prefilter.candidates(text);
        let mut extents = Vec::new();
        for matcher in &self.matchers {
            if candidates.contains(matcher.rule()) {
                matcher.extents(text, &mut extents);
            }
        }
        if let Some(custom) = &self.custom {
            extents.extend(
                custom
                    .find_iter(text)
                    .filter(|m| !m.is_empty())
                    .map(|m| (m.start(), m.end())),
            );
        }
        free_position(extents, max)
    }

    fn redact_candidates(
        &self,
        text: &mut String,
        counts: &mut RedactionCounts,
        candidates: Rules,
    ) {
        let mut spans = Vec::new();
        for matcher in &self.matchers {
            let rule = matcher.rule();
            if !candidates.contains(rule) {
                continue;
            }
            spans.clear();
            matcher.spans(text, &mut spans);
            counts.count(Some(rule), replace(text, &spans, rule.marker()));
        }
        if let Some(custom) = &self.custom {
            spans.clear();
            // An empty match would redact nothing and mark a position; configuration refuses
            // patterns that match everything, but `\b` or `^` may still match empty somewhere.
            spans.extend(
                custom
                    .find_iter(text)
                    .filter(|m| !m.is_empty())
                    .map(|m| (m.start(), m.end())),
            );
            counts.count(None, replace(text, &spans, CUSTOM_MARKER));
        }
    }
}

/// The largest position at most `max` inside none of the open ranges `(start, end)` of `extents`.
fn free_position(mut extents: Vec<(usize, usize)>, max: usize) -> usize {
    // A range starting at `max` or later holds no position up to `max`.
    extents.retain(|&(start, _)| start < max);
    extents.sort_unstable();
    // The ranges merged in order of their start, where they overlap: the positions they hold.
    // The merged ranges are disjoint and all start before `max`, so only the last can hold it.
    let mut last: Option<(usize, usize)> = None;
    for (start, end) in extents {
        last = match last {
            Some((first, reach)) if start < reach => Some((first, reach.max(end))),
            _ => Some((start, end)),
        };
    }
    match last {
        Some((first, reach)) if reach > max => first,
        _ => max,
    }
}

/// Replaces the byte ranges `spans` (ordered, on character boundaries) of `text` by `marker`;
/// returns how many were replaced.
fn replace(text: &mut String, spans: &[(usize, usize)], marker: &str) -> u64 {
    if spans.is_empty() {
        return 0;
    }
    let mut out = String::with_capacity(text.len() + spans.len() * marker.len());
    let mut copied = 0;
    let mut replaced = 0;
    for &(start, end) in spans {
        // Spans come from regex matches and ASCII positions, so both slices exist; one that did
        // not (or overlapped the last) is left out rather than corrupting the text.
        let (Some(kept), true) = (text.get(copied..start), text.is_char_boundary(end)) else {
            continue;
        };
        out.push_str(kept);
        out.push_str(marker);
        copied = end;
        replaced += 1;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    *text = out;
    replaced
}
