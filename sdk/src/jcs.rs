//! Canonical JSON: strict I-JSON parsing and RFC 8785 (JCS) serialization (SPEC.md §2).
//!
//! `serde_jcs` produces the canonical bytes; it accepts whatever `serde_json` accepts, which
//! includes duplicate keys (last wins) and integers beyond 2^53 (silently rounded). This module
//! parses with its own strict reader first, so those inputs are rejected with a stable code
//! instead of being hashed into something the author did not write.
//!
//! Number policy (SPEC.md §2.2 rule 5): every number's magnitude must be at most 2^53 − 1, in any
//! notation: integer literals compared exactly, other numbers after rounding to the nearest
//! double. `9007199254740993`, `9007199254740993.0` (rounds to 2^53), `1E30` and `1e20` are all
//! rejected with `NUMBER_OUT_OF_RANGE`; `9007199254740991.4` rounds to 2^53 − 1 and is accepted.
//! Rationale: any double of magnitude ≥ 2^53 is an integer, and RFC 8785 prints those below
//! 10^21 as plain integer literals; allowing them in exponent form but not as literals would make
//! canonicalization non-idempotent, and allowing them as literals lets big integers be silently
//! rounded. The serializer ([`serialize`]) itself handles every finite double exactly as RFC 8785
//! says (checked against all cyberphone and ES6 vectors through a lenient parse).

use crate::code::ErrorCode;
use crate::limits::{MAX_JSON_DEPTH, MAX_NODE_BYTES, MAX_SAFE_INTEGER};
use serde_json::{Map, Number, Value};

mod check;
pub(crate) use check::{TopLevel, scan};

/// Why a document is not acceptable canonical-JSON input (SPEC.md §2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail} at byte {offset}")]
pub struct JsonError {
    code: ErrorCode,
    detail: &'static str,
    offset: usize,
}

impl JsonError {
    fn new(code: ErrorCode, detail: &'static str, offset: usize) -> Self {
        Self { code, detail, offset }
    }
    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
    /// Byte offset in the input where the problem was found.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

/// Parses `bytes` as strict I-JSON (SPEC.md §2.2).
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    if bytes.len() > MAX_NODE_BYTES {
        return Err(JsonError::new(
            ErrorCode::TooLarge,
            "document exceeds MAX_NODE_BYTES",
            0,
        ));
    }
    if let Err(e) = core::str::from_utf8(bytes) {
        return Err(JsonError::new(
            ErrorCode::InvalidUtf8,
            "invalid UTF-8",
            e.valid_up_to(),
        ));
    }
    let mut p = Parser { b: bytes, i: 0 };
    p.ws();
    let v = p.value(1)?;
    p.ws();
    if p.i != bytes.len() {
        return Err(p.err(ErrorCode::JsonSyntax, "trailing data after the value"));
    }
    Ok(v)
}

/// Serializes a parsed value to its RFC 8785 canonical bytes (SPEC.md §2.1).
///
/// Structure, member order (UTF-16 code units), strings and safe integers are written here;
/// every other number (non-integers, and integers beyond 2^53 − 1, which only a hand-built value
/// can hold) is formatted by `serde_jcs`, the ECMAScript number formatting RFC 8785 requires. The
/// output equals `serde_jcs::to_vec` for every value (property-tested in `tests/jcs_props.rs`),
/// several times faster.
pub fn serialize(value: &Value) -> Result<Vec<u8>, JsonError> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, value)?;
    if out.len() > MAX_NODE_BYTES {
        return Err(JsonError::new(
            ErrorCode::TooLarge,
            "canonical form exceeds MAX_NODE_BYTES",
            0,
        ));
    }
    Ok(out)
}

fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<(), JsonError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i.unsigned_abs() <= MAX_SAFE_INTEGER => {
                out.extend_from_slice(i.to_string().as_bytes())
            }
            _ => out
                .extend_from_slice(&serde_jcs::to_vec(n).map_err(|_| {
                    JsonError::new(ErrorCode::JsonSyntax, "value cannot be canonicalized", 0)
                })?),
        },
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            // RFC 8785 §3.2.3: names compared as arrays of UTF-16 code units. For ASCII names
            // that is bytewise order (the common case, and cheaper).
            members.sort_by(|a, b| {
                if a.0.is_ascii() && b.0.is_ascii() {
                    a.0.cmp(b.0)
                } else {
                    a.0.encode_utf16().cmp(b.0.encode_utf16())
                }
            });
            out.push(b'{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, k);
                out.push(b':');
                write_value(out, v)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// RFC 8785 §3.2.2.2 string escaping (SPEC.md §2.1 rule 3).
fn write_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        if c >= 0x20 && c != b'"' && c != b'\\' {
            continue;
        }
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 0xf)]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Parses `bytes` strictly and returns their RFC 8785 canonical form (SPEC.md §2).
pub fn canonicalize(bytes: &[u8]) -> Result<Vec<u8>, JsonError> {
    serialize(&parse(bytes)?)
}

/// Whether `bytes` are already canonical (SPEC.md §2.4): exactly when [`parse_canonical`]
/// succeeds, in one pass over the bytes and without building a value. Use [`parse_canonical`]
/// to learn why bytes are not canonical.
pub fn is_canonical(bytes: &[u8]) -> bool {
    scan(bytes).is_some()
}

/// Checks that `bytes` are already canonical: parses strictly and compares with the canonical
/// re-serialization (SPEC.md §2.4). Returns the parsed value on success.
pub fn parse_canonical(bytes: &[u8]) -> Result<Value, JsonError> {
    let v = parse(bytes)?;
    let canon = serialize(&v)?;
    if canon != bytes {
        let at = canon
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(canon.len().min(bytes.len()));
        return Err(JsonError::new(
            ErrorCode::NonCanonicalJson,
            "bytes differ from their canonical form",
            at,
        ));
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, code: ErrorCode, detail: &'static str) -> JsonError {
        JsonError::new(code, detail, self.i)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn expect_lit(&mut self, lit: &'static [u8], v: Value) -> Result<Value, JsonError> {
        if self.b.get(self.i..self.i + lit.len()) == Some(lit) {
            self.i += lit.len();
            Ok(v)
        } else {
            Err(self.err(ErrorCode::JsonSyntax, "invalid literal"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.expect_lit(b"true", Value::Bool(true)),
            Some(b'f') => self.expect_lit(b"false", Value::Bool(false)),
            Some(b'n') => self.expect_lit(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err(ErrorCode::JsonSyntax, "expected a value")),
            None => Err(self.err(ErrorCode::JsonSyntax, "unexpected end of input")),
        }
    }

    fn enter(&self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_JSON_DEPTH {
            Err(self.err(ErrorCode::TooDeep, "nesting exceeds MAX_JSON_DEPTH"))
        } else {
            Ok(())
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.enter(depth)?;
        self.i += 1; // '{'
        let mut map = Map::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err(ErrorCode::JsonSyntax, "expected a member name"));
            }
            let key_at = self.i;
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err(ErrorCode::JsonSyntax, "expected ':'"));
            }
            self.i += 1;
            self.ws();
            let v = self.value(depth + 1)?;
            if map.contains_key(&key) {
                return Err(JsonError::new(
                    ErrorCode::DuplicateKey,
                    "duplicate member name",
                    key_at,
                ));
            }
            map.insert(key, v);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.err(ErrorCode::JsonSyntax, "expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.enter(depth)?;
        self.i += 1; // '['
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.err(ErrorCode::JsonSyntax, "expected ',' or ']'")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err(ErrorCode::JsonSyntax, "bad \\u escape")),
            };
            v = v * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1; // opening quote
        let mut out = String::new();
        loop {
            // Copy the run of plain bytes in one go (input is known-valid UTF-8).
            let start = self.i;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            if self.i > start {
                let run = core::str::from_utf8(&self.b[start..self.i])
                    .map_err(|_| JsonError::new(ErrorCode::InvalidUtf8, "invalid UTF-8", start))?;
                out.push_str(run);
            }
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let esc = self.peek();
                    self.i += 1;
                    match esc {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let at = self.i;
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err(JsonError::new(
                                        ErrorCode::InvalidUtf8,
                                        "lone high surrogate",
                                        at,
                                    ));
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(JsonError::new(
                                        ErrorCode::InvalidUtf8,
                                        "lone high surrogate",
                                        at,
                                    ));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(JsonError::new(ErrorCode::InvalidUtf8, "lone low surrogate", at));
                            } else {
                                hi
                            };
                            match char::from_u32(cp) {
                                Some(c) => out.push(c),
                                None => {
                                    return Err(JsonError::new(
                                        ErrorCode::InvalidUtf8,
                                        "invalid code point",
                                        at,
                                    ));
                                }
                            }
                        }
                        _ => return Err(self.err(ErrorCode::JsonSyntax, "invalid escape")),
                    }
                }
                Some(_) => {
                    return Err(self.err(ErrorCode::JsonSyntax, "unescaped control character in string"));
                }
                None => return Err(self.err(ErrorCode::JsonSyntax, "unterminated string")),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let s = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - s
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        let int_start = self.i;
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err(ErrorCode::JsonSyntax, "invalid number")),
        }
        let int_end = self.i;
        let mut is_int = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            is_int = false;
            if self.digits() == 0 {
                return Err(self.err(ErrorCode::JsonSyntax, "digit expected after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            is_int = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err(ErrorCode::JsonSyntax, "digit expected in exponent"));
            }
        }
        // The slice is ASCII by construction.
        let text = core::str::from_utf8(&self.b[start..self.i])
            .map_err(|_| JsonError::new(ErrorCode::JsonSyntax, "invalid number", start))?;
        if is_int {
            let digits = &self.b[int_start..int_end];
            let mut mag: u64 = 0;
            for &d in digits {
                mag = mag.saturating_mul(10).saturating_add(u64::from(d - b'0'));
            }
            if mag > MAX_SAFE_INTEGER {
                return Err(JsonError::new(
                    ErrorCode::NumberOutOfRange,
                    "integer beyond ±(2^53−1)",
                    start,
                ));
            }
            // mag ≤ 2^53−1 fits i64 exactly.
            let v = mag as i64;
            return Ok(Value::Number(Number::from(if neg { -v } else { v })));
        }
        let f: f64 = text
            .parse()
            .map_err(|_| JsonError::new(ErrorCode::JsonSyntax, "invalid number", start))?;
        if !f.is_finite() || f.abs() > MAX_SAFE_INTEGER as f64 {
            return Err(JsonError::new(
                ErrorCode::NumberOutOfRange,
                "number magnitude beyond 2^53−1",
                start,
            ));
        }
        if f == 0.0
            && text
                .bytes()
                .take_while(|c| !matches!(c, b'e' | b'E'))
                .any(|c| matches!(c, b'1'..=b'9'))
        {
            return Err(JsonError::new(
                ErrorCode::NumberOutOfRange,
                "number underflows IEEE-754 double",
                start,
            ));
        }
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| JsonError::new(ErrorCode::NumberOutOfRange, "number is not finite", start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> ErrorCode {
        match canonicalize(s.as_bytes()) {
            Err(e) => e.code(),
            Ok(v) => panic!("accepted {s:?} as {:?}", String::from_utf8_lossy(&v)),
        }
    }

    #[test]
    fn rejects_with_stable_codes() {
        assert_eq!(code(r#"{"a":1,"a":2}"#), ErrorCode::DuplicateKey);
        assert_eq!(code(r#"{"a":1,"\u0061":2}"#), ErrorCode::DuplicateKey);
        assert_eq!(code("9007199254740992"), ErrorCode::NumberOutOfRange);
        assert_eq!(code("-9007199254740992"), ErrorCode::NumberOutOfRange);
        assert_eq!(
            code("123456789012345678901234567890"),
            ErrorCode::NumberOutOfRange
        );
        assert_eq!(code("1e400"), ErrorCode::NumberOutOfRange);
        assert_eq!(code("1e-400"), ErrorCode::NumberOutOfRange);
        assert_eq!(code(r#""\ud800""#), ErrorCode::InvalidUtf8);
        assert_eq!(code(r#""\udc00x""#), ErrorCode::InvalidUtf8);
        assert_eq!(code(r#""\ud800\u0041""#), ErrorCode::InvalidUtf8);
        assert_eq!(code("01"), ErrorCode::JsonSyntax);
        assert_eq!(code("[1,]"), ErrorCode::JsonSyntax);
        assert_eq!(code("{} x"), ErrorCode::JsonSyntax);
        assert_eq!(code("\"a\u{1}\""), ErrorCode::JsonSyntax);
        assert_eq!(code(""), ErrorCode::JsonSyntax);
        assert_eq!(code("NaN"), ErrorCode::JsonSyntax);
        assert_eq!(
            canonicalize(b"\"\xff\"").map_err(|e| e.code()),
            Err(ErrorCode::InvalidUtf8)
        );
    }

    #[test]
    fn depth_limit_is_exact() {
        let ok = "[".repeat(MAX_JSON_DEPTH) + &"]".repeat(MAX_JSON_DEPTH);
        assert!(canonicalize(ok.as_bytes()).is_ok());
        let deep = "[".repeat(MAX_JSON_DEPTH + 1) + &"]".repeat(MAX_JSON_DEPTH + 1);
        assert_eq!(code(&deep), ErrorCode::TooDeep);
        let very_deep = "[".repeat(100_000);
        assert_eq!(code(&very_deep), ErrorCode::TooDeep);
    }

    #[test]
    fn accepts_the_safe_integer_bounds() {
        assert_eq!(canonicalize(b"9007199254740991").unwrap(), b"9007199254740991");
        assert_eq!(canonicalize(b"-9007199254740991").unwrap(), b"-9007199254740991");
        assert_eq!(canonicalize(b"-0").unwrap(), b"0");
        assert_eq!(
            canonicalize(b"1E30").unwrap_err().code(),
            ErrorCode::NumberOutOfRange
        );
        assert_eq!(
            canonicalize(b"1e20").unwrap_err().code(),
            ErrorCode::NumberOutOfRange
        );
        assert_eq!(
            canonicalize(b"9007199254740991.5").unwrap_err().code(),
            ErrorCode::NumberOutOfRange
        );
        assert_eq!(
            canonicalize(b"9.007199254740991e15").unwrap(),
            b"9007199254740991"
        );
        assert_eq!(canonicalize(b"1e-7").unwrap(), b"1e-7");
        assert_eq!(canonicalize(b"4.50").unwrap(), b"4.5");
    }

    /// SPEC.md §2.2 rule 5: the 2^53−1 bound applies in every notation, to the double a
    /// non-integer literal rounds to.
    #[test]
    fn number_range_applies_after_rounding_in_any_notation() {
        for rejected in [
            "9007199254740993.0",  // rounds to 2^53
            "9007199254740992.0",  // exactly 2^53
            "9007199254740991.5",  // ties to even: 2^53
            "-9007199254740993.0", // either sign
            "9.007199254740992e15",
            "0.9007199254740993e16",
            "90071992547409920e-1",
            "1e16",
            "1e20",
            "1E30",
            "1e308",
        ] {
            assert_eq!(code(rejected), ErrorCode::NumberOutOfRange, "{rejected}");
        }
        for (accepted, canonical) in [
            ("9007199254740991.0", "9007199254740991"),
            ("9007199254740991.4", "9007199254740991"), // rounds down to 2^53−1
            ("-9007199254740991.4", "-9007199254740991"),
            ("90071992547409910e-1", "9007199254740991"),
            ("9.007199254740991E+15", "9007199254740991"),
            ("1e15", "1000000000000000"),
            ("0.30000000000000001", "0.3"),
            ("-0.0", "0"),
        ] {
            assert_eq!(
                canonicalize(accepted.as_bytes()).map_err(|e| e.code()),
                Ok(canonical.as_bytes().to_vec()),
                "{accepted}"
            );
        }
    }

    #[test]
    fn canonical_check() {
        assert!(parse_canonical(br#"{"a":1,"b":[true,null]}"#).is_ok());
        let e = parse_canonical(br#"{"b":1,"a":2}"#).unwrap_err();
        assert_eq!(e.code(), ErrorCode::NonCanonicalJson);
        assert_eq!(
            parse_canonical(b" 1").unwrap_err().code(),
            ErrorCode::NonCanonicalJson
        );
    }
}
