//! Product keys: canonical purl, else CPE, else hash, else scoped name (docs/vex-model.md
//! `product_key`; docs/vex-ingest.md "Product keys").

use super::finding::{Finding, FindingCode};
use super::purl::{self, PurlNote};

/// Candidate identifiers of one product, in the order the format lists them.
#[derive(Default)]
pub(crate) struct Candidates<'a> {
    pub(crate) purls: Vec<&'a str>,
    pub(crate) cpes: Vec<&'a str>,
    /// (algorithm, hex value) pairs.
    pub(crate) hashes: Vec<(&'a str, &'a str)>,
    /// A full product name (or other local identifier) scoped by [`Candidates::scope`].
    pub(crate) name: Option<String>,
}

/// Hash algorithms in preference order (the most widely published first, for cross-document
/// matching); others follow alphabetically.
const HASH_PREFERENCE: &[&str] = &["sha256", "sha512", "sha384", "sha1", "md5"];

impl Candidates<'_> {
    /// The first usable key. Purl problems become findings at `pointer`.
    pub(crate) fn key(&self, scope: &str, pointer: &str, findings: &mut Vec<Finding>) -> Option<String> {
        for p in &self.purls {
            if let Some(k) = purl_key(p, pointer, findings) {
                return Some(k);
            }
        }
        if let Some(c) = self.cpes.iter().find_map(|c| cpe_key(c)) {
            return Some(c);
        }
        if let Some(h) = hash_key(&self.hashes) {
            return Some(h);
        }
        self.name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| name_key(scope, n))
    }
}

/// A canonical purl; a parse failure or a canonicalization note is recorded as a finding.
pub(crate) fn purl_key(raw: &str, pointer: &str, findings: &mut Vec<Finding>) -> Option<String> {
    match purl::canonicalize(raw) {
        Ok((key, notes)) => {
            for n in notes {
                findings.push(match n {
                    PurlNote::VersionNormalized { from, to } => Finding::new(
                        FindingCode::PurlVersionNormalized,
                        pointer,
                        format!("golang purl version {from:?} read as {to:?} (Go module versions carry a v)"),
                    ),
                    PurlNote::QualifierInvalid { key, value } => Finding::new(
                        FindingCode::PurlQualifierInvalid,
                        pointer,
                        format!("purl {raw:?}: qualifier {key}={value:?} is not module:stream; purl kept"),
                    ),
                });
            }
            Some(key)
        }
        Err(e) => {
            findings.push(Finding::new(
                FindingCode::PurlInvalid,
                pointer,
                format!("purl {raw:?} does not parse ({}); next identifier used", e.0),
            ));
            None
        }
    }
}

/// A CPE 2.2 URI (`cpe:/…`) or 2.3 formatted string (`cpe:2.3:…`), trimmed and lower-cased (CPE
/// matching is case-insensitive); the binding is kept as written.
pub(crate) fn cpe_key(raw: &str) -> Option<String> {
    let c = raw.trim().to_ascii_lowercase();
    ((c.starts_with("cpe:/") || c.starts_with("cpe:2.3:")) && !c.contains(char::is_whitespace)).then_some(c)
}

/// `hash:<alg>:<hex>`: algorithm lower-cased without '-', '_' or spaces (`SHA-256` → `sha256`),
/// value lower-case hex; the preferred algorithm present wins.
pub(crate) fn hash_key(hashes: &[(&str, &str)]) -> Option<String> {
    let mut norm: Vec<(usize, String, String)> = hashes
        .iter()
        .filter_map(|(alg, val)| {
            let alg: String = alg
                .chars()
                .filter(|c| !"-_ ".contains(*c))
                .collect::<String>()
                .to_lowercase();
            let val = val.trim().to_ascii_lowercase();
            let ok = !alg.is_empty() && !val.is_empty() && val.bytes().all(|c| c.is_ascii_hexdigit());
            let rank = HASH_PREFERENCE
                .iter()
                .position(|p| *p == alg)
                .unwrap_or(HASH_PREFERENCE.len());
            ok.then_some((rank, alg, val))
        })
        .collect();
    norm.sort();
    norm.into_iter()
        .next()
        .map(|(_, alg, val)| format!("hash:{alg}:{val}"))
}

/// `name:<scope>/<name>`: the name as written (trimmed), scoped by issuer or document.
pub(crate) fn name_key(scope: &str, name: &str) -> String {
    format!("name:{scope}/{}", name.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_fallbacks() {
        let mut f = Vec::new();
        let c = Candidates {
            purls: vec!["not a purl", "pkg:NPM/Foo@1"],
            cpes: vec!["cpe:/a:x:y:1"],
            ..Default::default()
        };
        assert_eq!(c.key("s", "/p", &mut f).unwrap(), "pkg:npm/foo@1");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code(), FindingCode::PurlInvalid);
        let c = Candidates {
            cpes: vec!["CPE:/O:RedHat:enterprise_linux:8"],
            ..Default::default()
        };
        assert_eq!(
            c.key("s", "/p", &mut f).unwrap(),
            "cpe:/o:redhat:enterprise_linux:8"
        );
        let c = Candidates {
            hashes: vec![("SHA-1", "AB"), ("SHA-256", "CD"), ("blake3", "ef")],
            name: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(c.key("s", "/p", &mut f).unwrap(), "hash:sha256:cd");
        let c = Candidates {
            name: Some(" Example Company ABC 4.2 ".into()),
            ..Default::default()
        };
        assert_eq!(
            c.key("psirt.example.com", "/p", &mut f).unwrap(),
            "name:psirt.example.com/Example Company ABC 4.2"
        );
        assert_eq!(Candidates::default().key("s", "/p", &mut f), None);
    }
}
