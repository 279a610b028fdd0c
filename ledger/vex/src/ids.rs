//! Vulnerability ids and issuer ids (docs/vex-ingest.md "Vulnerability ids", "Issuer ids").

use std::collections::BTreeSet;

/// A canonical vulnerability id and the other ids seen for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VulnIds {
    pub(crate) id: String,
    pub(crate) aliases: Vec<String>,
}

/// Normalizes the spelling of one id: trimmed; `CVE-` and `GO-` ids upper-cased; `GHSA-` with
/// an upper-case prefix and a lower-case body (OSV spelling). Anything else is kept as written.
pub(crate) fn normalize_vuln_id(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let prefix =
        |p: &str| s.len() > p.len() && s.is_char_boundary(p.len()) && s[..p.len()].eq_ignore_ascii_case(p);
    Some(if prefix("cve-") || prefix("go-") {
        s.to_ascii_uppercase()
    } else if prefix("ghsa-") {
        format!("GHSA-{}", s[5..].to_ascii_lowercase())
    } else {
        s.to_string()
    })
}

/// Whether `s` looks like a vulnerability id rather than an IRI (OpenVEX `@id` fallback):
/// starts with a letter, contains a '-', only `[A-Za-z0-9._:-]`, no "://".
pub(crate) fn looks_like_vuln_id(s: &str) -> bool {
    let s = s.trim();
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.contains('-')
        && !s.contains("://")
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._:-".contains(&c))
}

/// `CVE-YYYY-N…` as (year, number) for numeric ordering.
fn cve_order(s: &str) -> Option<(u64, u64)> {
    let rest = s.strip_prefix("CVE-")?;
    let (y, n) = rest.split_once('-')?;
    let digits = |x: &str| !x.is_empty() && x.len() <= 18 && x.bytes().all(|c| c.is_ascii_digit());
    if y.len() != 4 || !digits(y) || n.len() < 4 || !digits(n) {
        return None;
    }
    Some((y.parse().ok()?, n.parse().ok()?))
}

/// The canonical id is the smallest CVE (numerically by year, then number) among all ids, else
/// the lexicographically smallest id; every other distinct id is an alias (sorted).
pub(crate) fn canonical_vuln<I, S>(ids: I) -> Option<VulnIds>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let all: BTreeSet<String> = ids
        .into_iter()
        .filter_map(|s| normalize_vuln_id(s.as_ref()))
        .collect();
    let id = all
        .iter()
        .filter_map(|s| cve_order(s).map(|o| (o, s)))
        .min()
        .map(|(_, s)| s.clone())
        .or_else(|| all.first().cloned())?;
    let aliases = all.into_iter().filter(|s| *s != id).collect();
    Some(VulnIds { id, aliases })
}

/// Lower-cased alphanumeric runs joined by '-': `"Acme, Inc."` → `acme-inc`. Never contains a
/// '.', so it cannot collide with a domain-based id.
pub(crate) fn slug(s: &str) -> Option<String> {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    (!out.is_empty()).then_some(out)
}

/// A URL as an issuer id: lower-cased host without `www.`, userinfo and port, plus the path
/// without trailing '/', query and fragment: `https://www.redhat.com` → `redhat.com`,
/// `https://github.com/secvisogram` → `github.com/secvisogram`.
pub(crate) fn url_id(s: &str) -> Option<String> {
    let (_, rest) = s.trim().split_once("://")?;
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    if host.is_empty() {
        return None;
    }
    Some(format!("{host}{}", path.trim_end_matches('/').to_lowercase()))
}

/// An author string as an issuer id: a URL → [`url_id`]; `Name <email>` → slug of the name, or
/// the lower-cased email when the name is empty; otherwise the slug.
pub(crate) fn author_id(author: &str) -> Option<String> {
    let a = author.trim();
    if a.contains("://") && !a.contains(char::is_whitespace) {
        return url_id(a);
    }
    if let (Some(lt), Some(gt)) = (a.find('<'), a.rfind('>'))
        && lt < gt
    {
        let name = &a[..lt];
        let email = a[lt + 1..gt].trim().to_lowercase();
        return slug(name).or_else(|| (!email.is_empty()).then_some(email));
    }
    slug(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_vuln_ids() {
        let v = canonical_vuln(["GO-2024-3321", "CVE-2024-45337", "ghsa-v778-237X-gjrc"]).unwrap();
        assert_eq!(v.id, "CVE-2024-45337");
        assert_eq!(v.aliases, ["GHSA-v778-237x-gjrc", "GO-2024-3321"]);
        let v = canonical_vuln(["GO-2024-2453", "GHSA-9763-4f94-gfch"]).unwrap();
        assert_eq!(v.id, "GHSA-9763-4f94-gfch");
        // Numeric, not lexicographic, CVE order.
        let v = canonical_vuln(["cve-2021-10000", "CVE-2021-9999"]).unwrap();
        assert_eq!(v.id, "CVE-2021-9999");
        assert_eq!(v.aliases, ["CVE-2021-10000"]);
        assert_eq!(canonical_vuln(["  ", ""]), None);
        let v = canonical_vuln(["SNYK-JAVA-X-1", "CVE-2018-7489", "CVE-2018-7489"]).unwrap();
        assert_eq!((v.id.as_str(), v.aliases.len()), ("CVE-2018-7489", 1));
    }

    #[test]
    fn vuln_id_shapes() {
        assert!(looks_like_vuln_id("CVE-2022-3715"));
        assert!(looks_like_vuln_id("RHSA-2023:5700"));
        assert!(!looks_like_vuln_id("https://pkg.go.dev/vuln/GO-2024-2575"));
        assert!(!looks_like_vuln_id("2241933"));
        assert!(!looks_like_vuln_id("not an id"));
    }

    #[test]
    fn issuer_ids() {
        assert_eq!(url_id("https://www.redhat.com").unwrap(), "redhat.com");
        assert_eq!(
            url_id("https://github.com/Secvisogram/").unwrap(),
            "github.com/secvisogram"
        );
        assert_eq!(
            url_id("https://user@Tanzu.VMware.com:443/application-catalog?x#y").unwrap(),
            "tanzu.vmware.com/application-catalog"
        );
        assert_eq!(url_id("psirt.example.com"), None);
        assert_eq!(
            author_id("The OpenVEX Project <openvex@openssf.org>").unwrap(),
            "the-openvex-project"
        );
        assert_eq!(author_id("The OpenVEX Project").unwrap(), "the-openvex-project");
        assert_eq!(
            author_id("<Security@Example.org>").unwrap(),
            "security@example.org"
        );
        assert_eq!(author_id("Acme, Inc.").unwrap(), "acme-inc");
        assert_eq!(
            author_id("https://example.com/psirt").unwrap(),
            "example.com/psirt"
        );
        assert_eq!(author_id(" ,, "), None);
    }
}
