//! One-pass check that bytes are already canonical (SPEC.md §2.4), without building a value.
//!
//! [`parse_canonical`](super::parse_canonical) parses into a `serde_json::Value`, serializes it
//! again and compares: three allocating passes. A verifier reading a million stored nodes only
//! needs the yes/no answer (and a node's `type` and `links`), so this scanner walks the bytes once
//! and accepts exactly the canonical form:
//!
//! - no whitespace; `true`, `false`, `null`;
//! - strings with only the escapes RFC 8785 writes (`\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r` and
//!   `\u00xx` in lowercase hex for the other control characters), everything else literal;
//! - object members in strictly increasing UTF-16 order of their names (so no duplicates);
//! - safe integers written as RFC 8785 writes them. Any other number is parsed by the strict
//!   parser and re-serialized, and must come out byte for byte the same;
//! - the size, UTF-8 and nesting limits of the strict parser.
//!
//! The contract, property-tested against `parse_canonical` (`sdk/tests/jcs_props.rs`) and
//! checked by the `canonical_json` fuzz target on every input: `scan(b).is_some()` exactly when
//! `parse_canonical(b).is_ok()`. On `None` a caller that needs the reason runs the strict path,
//! which names it with its stable code.

use super::{Parser, write_value};
use crate::limits::{MAX_JSON_DEPTH, MAX_NODE_BYTES, MAX_SAFE_INTEGER};

/// What a successful scan saw at the top level: whether the document is an object, and the byte
/// spans of its `type` and `links` member values (what a node's rules look at, SPEC.md §3.2).
#[derive(Debug, Default)]
pub(crate) struct TopLevel {
    pub object: bool,
    pub node_type: Option<(usize, usize)>,
    pub links: Option<(usize, usize)>,
}

/// Scans `bytes`; `Some` exactly when they are the canonical form of a strict I-JSON value.
pub(crate) fn scan(bytes: &[u8]) -> Option<TopLevel> {
    if bytes.len() > MAX_NODE_BYTES || core::str::from_utf8(bytes).is_err() {
        return None;
    }
    let mut s = Scanner {
        b: bytes,
        i: 0,
        top: TopLevel {
            object: bytes.first() == Some(&b'{'),
            ..TopLevel::default()
        },
    };
    s.value(1)?;
    (s.i == bytes.len()).then_some(s.top)
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    top: TopLevel,
}

/// A member name's span (between the quotes) and whether it is plain ASCII without escapes, in
/// which case byte order is UTF-16 order.
#[derive(Clone, Copy)]
struct Name {
    start: usize,
    end: usize,
    plain: bool,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string().map(|_| ()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, lit: &[u8]) -> Option<()> {
        (self.b.get(self.i..self.i + lit.len())? == lit).then(|| self.i += lit.len())
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_JSON_DEPTH {
            return None;
        }
        self.i += 1; // '{'
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        let mut previous: Option<Name> = None;
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let name = self.string()?;
            if let Some(p) = previous
                && !self.name_less(p, name)
            {
                return None;
            }
            previous = Some(name);
            if self.peek()? != b':' {
                return None;
            }
            self.i += 1;
            let at = self.i;
            self.value(depth + 1)?;
            if depth == 1 {
                match &self.b[name.start..name.end] {
                    b"type" => self.top.node_type = Some((at, self.i)),
                    b"links" => self.top.links = Some((at, self.i)),
                    _ => {}
                }
            }
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_JSON_DEPTH {
            return None;
        }
        self.i += 1; // '['
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        loop {
            self.value(depth + 1)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string with only the escapes RFC 8785 §3.2.2.2 writes. The input is valid UTF-8.
    fn string(&mut self) -> Option<Name> {
        self.i += 1; // opening quote
        let start = self.i;
        let mut plain = true;
        loop {
            self.skip_plain_ascii();
            let c = self.peek()?;
            match c {
                b'"' => {
                    let end = self.i;
                    self.i += 1;
                    return Some(Name { start, end, plain });
                }
                b'\\' => {
                    plain = false;
                    match self.b.get(self.i + 1)? {
                        b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => self.i += 2,
                        b'u' => {
                            // Only control characters without a short escape, lowercase hex.
                            let hex = self.b.get(self.i + 2..self.i + 6)?;
                            let low = match hex[3] {
                                d @ b'0'..=b'9' => d - b'0',
                                d @ b'a'..=b'f' => d - b'a' + 10,
                                _ => return None,
                            };
                            let code = match &hex[..3] {
                                b"000" => low,
                                b"001" => 16 + low,
                                _ => return None,
                            };
                            if matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                            self.i += 6;
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                0x80.. => {
                    plain = false;
                    self.i += 1;
                }
                _ => self.i += 1,
            }
        }
    }

    /// Skips whole 8-byte words of ASCII bytes 0x20..=0x7f other than `"` and `\` (SWAR: a
    /// word is skipped only when none of its bytes is a quote, a backslash, a control character
    /// or non-ASCII; any other word is left to the byte loop, which decides).
    fn skip_plain_ascii(&mut self) {
        const ONES: u64 = u64::from_ne_bytes([1; 8]);
        const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
        let has_zero = |v: u64| v.wrapping_sub(ONES) & !v;
        while let Some(word) = self
            .b
            .get(self.i..self.i + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
        {
            let x = u64::from_ne_bytes(word);
            let special = has_zero(x ^ (ONES * u64::from(b'"')))
                | has_zero(x ^ (ONES * u64::from(b'\\')))
                | (x.wrapping_sub(ONES * 0x20) & !x)
                | x;
            if special & HIGH != 0 {
                return;
            }
            self.i += 8;
        }
    }

    /// Whether name `a` sorts strictly before name `b` (RFC 8785 §3.2.3: UTF-16 code units).
    fn name_less(&self, a: Name, b: Name) -> bool {
        if a.plain && b.plain {
            return self.b[a.start..a.end] < self.b[b.start..b.end];
        }
        // Rare: decode both (escapes, non-ASCII) with the strict parser's string reader.
        let decode = |n: Name| {
            let mut p = Parser {
                b: self.b,
                i: n.start - 1,
            };
            p.string().ok()
        };
        match (decode(a), decode(b)) {
            (Some(a), Some(b)) => a.encode_utf16().lt(b.encode_utf16()),
            _ => false,
        }
    }

    /// Safe integers directly; any other number must survive a strict parse and RFC 8785
    /// re-serialization unchanged.
    fn number(&mut self) -> Option<()> {
        let start = self.i;
        let neg = self.peek()? == b'-';
        let digits_at = start + usize::from(neg);
        let mut j = digits_at;
        let mut magnitude: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.b.get(j).copied() {
            magnitude = magnitude.saturating_mul(10).saturating_add(u64::from(d - b'0'));
            j += 1;
        }
        let digits = j - digits_at;
        let simple = digits > 0
            && !matches!(self.b.get(j), Some(b'.' | b'e' | b'E'))
            && magnitude <= MAX_SAFE_INTEGER
            && (self.b[digits_at] != b'0' || (digits == 1 && !neg));
        if simple {
            self.i = j;
            return Some(());
        }
        let mut p = Parser { b: self.b, i: start };
        let value = p.number().ok()?;
        let mut canonical = Vec::with_capacity(p.i - start);
        write_value(&mut canonical, &value).ok()?;
        (canonical == self.b[start..p.i]).then(|| self.i = p.i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jcs::parse_canonical;

    fn agree(text: &[u8]) -> bool {
        let fast = scan(text).is_some();
        assert_eq!(
            fast,
            parse_canonical(text).is_ok(),
            "{:?}",
            String::from_utf8_lossy(text)
        );
        fast
    }

    #[test]
    fn nesting_limit_is_the_parsers() {
        let nest = |open: &str, inner: &str, close: &str, n: usize| open.repeat(n) + inner + &close.repeat(n);
        assert!(agree(nest("[", "", "]", MAX_JSON_DEPTH).as_bytes()));
        assert!(!agree(nest("[", "", "]", MAX_JSON_DEPTH + 1).as_bytes()));
        assert!(agree(nest("{\"a\":", "1", "}", MAX_JSON_DEPTH).as_bytes()));
        assert!(!agree(nest("{\"a\":", "1", "}", MAX_JSON_DEPTH + 1).as_bytes()));
        assert!(!agree("[".repeat(100_000).as_bytes()));
    }

    #[test]
    fn size_and_utf8_limits_are_the_parsers() {
        let big = format!("\"{}\"", "a".repeat(MAX_NODE_BYTES - 2));
        assert!(agree(big.as_bytes()));
        let over = format!("\"{}\"", "a".repeat(MAX_NODE_BYTES - 1));
        assert!(!agree(over.as_bytes()));
        assert!(!agree(b"\"\xff\""));
        assert!(!agree(b"\"\xed\xa0\x80\"")); // an encoded surrogate
    }

    #[test]
    fn finds_the_top_level_type_and_links_only() {
        let text = br#"{"a":{"type":"inner"},"links":[1],"type":"x-a"}"#;
        let top = scan(text).unwrap();
        assert!(top.object);
        let span = |s: Option<(usize, usize)>| s.map(|(a, b)| &text[a..b]);
        assert_eq!(span(top.node_type), Some(&br#""x-a""#[..]));
        assert_eq!(span(top.links), Some(&b"[1]"[..]));
        let top = scan(br#"[{"type":"x-a"}]"#).unwrap();
        assert!(!top.object && top.node_type.is_none());
    }

    #[test]
    fn numbers_and_escapes() {
        for canonical in [
            "0",
            "-1",
            "9007199254740991",
            "1.5",
            "1e-7",
            "5e-324",
            "1.5e-10",
            "0.1",
            "\"\\u001f\\n\"",
            "\"\u{7f}/\"",
        ] {
            assert!(agree(canonical.as_bytes()), "{canonical}");
        }
        for not in [
            "-0",
            "01",
            "1.0",
            "1E3",
            "9007199254740992",
            "\"\\u000a\"",
            "\"\\/\"",
            "\"\\u001F\"",
            "1 ",
        ] {
            assert!(!agree(not.as_bytes()), "{not}");
        }
    }
}
