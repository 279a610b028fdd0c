//! Package URL canonicalization (ECMA-427 / purl-spec "how to parse" and "how to build", plus
//! the type rules of PURL-TYPES; docs/vex-ingest.md "purl").

use std::collections::BTreeMap;

/// A purl that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadPurl(pub(crate) &'static str);

/// Something canonicalization changed or noticed that a finding should record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PurlNote {
    /// A golang version `1.2.3` became `v1.2.3`.
    VersionNormalized { from: String, to: String },
    /// A qualifier value that breaks its type's convention.
    QualifierInvalid { key: &'static str, value: String },
}

/// The canonical form of `s` and what was noticed on the way.
pub(crate) fn canonicalize(s: &str) -> Result<(String, Vec<PurlNote>), BadPurl> {
    let s = s.trim();
    let (scheme, rest) = s.split_once(':').ok_or(BadPurl("no scheme"))?;
    if !scheme.eq_ignore_ascii_case("pkg") {
        return Err(BadPurl("scheme is not pkg"));
    }
    let rest = rest.trim_start_matches('/');
    let (rest, subpath) = match rest.rsplit_once('#') {
        Some((r, sp)) => (r, Some(sp)),
        None => (rest, None),
    };
    let (rest, quals) = match rest.rsplit_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let rest = rest.trim_matches('/');
    let (ty, rest) = rest.split_once('/').ok_or(BadPurl("no name"))?;
    let ty = ty.to_ascii_lowercase();
    if !ty.starts_with(|c: char| c.is_ascii_lowercase())
        || !ty
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b".+-".contains(&c))
    {
        return Err(BadPurl("invalid type"));
    }
    let (path, version) = match rest.rsplit_once('@') {
        Some((p, v)) => (p, Some(decode(v)?)),
        None => (rest, None),
    };
    let mut segs = path
        .trim_matches('/')
        .split('/')
        .filter(|x| !x.is_empty())
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    let name = segs
        .pop()
        .filter(|n| !n.is_empty())
        .ok_or(BadPurl("empty name"))?;
    let mut p = Purl {
        ty,
        namespace: segs,
        name,
        version: version.filter(|v| !v.is_empty()),
        qualifiers: BTreeMap::new(),
        subpath: Vec::new(),
    };
    if let Some(q) = quals {
        for pair in q.split('&').filter(|x| !x.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or(BadPurl("qualifier without '='"))?;
            let k = k.to_ascii_lowercase();
            if !k.starts_with(|c: char| c.is_ascii_lowercase())
                || !k
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b".-_".contains(&c))
            {
                return Err(BadPurl("invalid qualifier key"));
            }
            let v = decode(v)?;
            if v.is_empty() {
                continue;
            }
            if p.qualifiers.insert(k, v).is_some() {
                return Err(BadPurl("duplicate qualifier key"));
            }
        }
    }
    if let Some(sp) = subpath {
        for seg in sp.split('/') {
            let seg = decode(seg)?;
            if !matches!(seg.as_str(), "" | "." | "..") {
                p.subpath.push(seg);
            }
        }
    }
    let notes = p.apply_type_rules();
    Ok((p.to_string(), notes))
}

struct Purl {
    ty: String,
    namespace: Vec<String>,
    name: String,
    version: Option<String>,
    qualifiers: BTreeMap<String, String>,
    subpath: Vec<String>,
}

impl Purl {
    /// Type-specific normalization (PURL-TYPES "must be lowercased" rules and the golang `v`).
    fn apply_type_rules(&mut self) -> Vec<PurlNote> {
        let mut notes = Vec::new();
        let (ns_lower, name_lower) = match self.ty.as_str() {
            "alpm" | "apk" | "bitbucket" | "composer" | "deb" | "github" | "golang" | "hex" | "luarocks" => {
                (true, true)
            }
            "bitnami" | "npm" | "oci" | "pub" | "pypi" => (false, true),
            "qpkg" | "rpm" => (true, false),
            _ => (false, false),
        };
        if ns_lower {
            self.namespace.iter_mut().for_each(|s| *s = s.to_lowercase());
        }
        if name_lower {
            self.name = self.name.to_lowercase();
        }
        match self.ty.as_str() {
            "pypi" => self.name = self.name.replace('_', "-"),
            "cpan" => self.namespace.iter_mut().for_each(|s| *s = s.to_uppercase()),
            "oci" | "huggingface" => self.version = self.version.take().map(|v| v.to_lowercase()),
            "golang" => {
                if let Some(v) = self.version.as_mut().filter(|v| is_bare_semver(v)) {
                    let from = v.clone();
                    v.insert(0, 'v');
                    notes.push(PurlNote::VersionNormalized { from, to: v.clone() });
                }
            }
            "rpm" => {
                // Red Hat's `rpmmod` is `module:stream` (claircore rejects anything else).
                if let Some(v) = self.qualifiers.get("rpmmod") {
                    let ok = v
                        .split_once(':')
                        .is_some_and(|(m, s)| !m.is_empty() && !s.is_empty());
                    if !ok {
                        notes.push(PurlNote::QualifierInvalid {
                            key: "rpmmod",
                            value: v.clone(),
                        });
                    }
                }
            }
            _ => {}
        }
        notes
    }
}

impl std::fmt::Display for Purl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pkg:{}/", self.ty)?;
        for ns in &self.namespace {
            write!(f, "{}/", encode(ns, ""))?;
        }
        f.write_str(&encode(&self.name, ""))?;
        if let Some(v) = &self.version {
            write!(f, "@{}", encode(v, ""))?;
        }
        let mut sep = '?';
        for (k, v) in &self.qualifiers {
            write!(f, "{sep}{k}={}", encode(v, "/"))?;
            sep = '&';
        }
        if !self.subpath.is_empty() {
            let parts: Vec<String> = self.subpath.iter().map(|s| encode(s, "")).collect();
            write!(f, "#{}", parts.join("/"))?;
        }
        Ok(())
    }
}

/// Go module versions are semver with a mandatory `v` (go.dev/ref/mod#versions): `MAJOR.MINOR.PATCH`
/// optionally followed by `-pre` / `+build`.
fn is_bare_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

fn decode(s: &str) -> Result<String, BadPurl> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).ok_or(BadPurl("truncated percent escape"))?;
            let hv = |c: u8| (c as char).to_digit(16);
            match (hv(hex[0]), hv(hex[1])) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => return Err(BadPurl("invalid percent escape")),
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| BadPurl("percent escapes are not UTF-8"))
}

/// Percent-encodes everything except ECMA-427's alphanumerics, `.-_~`, the colon and `extra`.
fn encode(s: &str, extra: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b".-_~:".contains(&c) || extra.as_bytes().contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        canonicalize(s).unwrap().0
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(
            c("pkg:oci/alpine@sha256%3A124C7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126"),
            "pkg:oci/alpine@sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126"
        );
        assert_eq!(
            c("PKG:APK/Alpine/libcrypto3@3.0.8-r3?upstream=openssl&arch=x86_64&distro=alpine-3.17.3"),
            "pkg:apk/alpine/libcrypto3@3.0.8-r3?arch=x86_64&distro=alpine-3.17.3&upstream=openssl"
        );
        assert_eq!(
            c("pkg:deb/ubuntu/libstdc%2B%2B6@12.3.0-1ubuntu1~22.04?arch=amd64&distro=ubuntu-22.04"),
            "pkg:deb/ubuntu/libstdc%2B%2B6@12.3.0-1ubuntu1~22.04?arch=amd64&distro=ubuntu-22.04"
        );
        assert_eq!(c("pkg:deb/ubuntu/libstdc++6"), "pkg:deb/ubuntu/libstdc%2B%2B6");
        assert_eq!(c("pkg:pypi/Django_Allauth@1.0"), "pkg:pypi/django-allauth@1.0");
        assert_eq!(
            c("pkg:rpm/RedHat/NetworkManager@1.0?arch=x86_64&epoch="),
            "pkg:rpm/redhat/NetworkManager@1.0?arch=x86_64"
        );
        assert_eq!(
            c("pkg://maven/org.Foo/Bar@1.0#/a/./b/../"),
            "pkg:maven/org.Foo/Bar@1.0#a/b"
        );
        assert_eq!(
            c("pkg:npm/%40angular/Animation@12.3.1"),
            "pkg:npm/%40angular/animation@12.3.1"
        );
        assert_eq!(
            c("pkg:maven/g/a@1?repository_url=repo.spring.io/release"),
            "pkg:maven/g/a@1?repository_url=repo.spring.io/release"
        );
    }

    /// The Rancher kine trap: `@v0.27.0` and `@0.27.0` name the same Go module version.
    #[test]
    fn golang_versions_get_their_v() {
        let (a, na) = canonicalize("pkg:golang/golang.org/x/crypto@v0.27.0").unwrap();
        let (b, nb) = canonicalize("pkg:golang/golang.org/x/crypto@0.27.0").unwrap();
        assert_eq!(a, b);
        assert!(na.is_empty());
        assert_eq!(
            nb,
            vec![PurlNote::VersionNormalized {
                from: "0.27.0".into(),
                to: "v0.27.0".into()
            }]
        );
        assert_eq!(
            c("pkg:golang/github.com/Foo/Bar@0.0.0-2023+x"),
            "pkg:golang/github.com/foo/bar@v0.0.0-2023%2Bx"
        );
        // Not semver: kept as written.
        assert_eq!(
            c("pkg:golang/example.com/m@234fd47e07d1004f0aed9c"),
            "pkg:golang/example.com/m@234fd47e07d1004f0aed9c"
        );
        // Other types keep the version as written.
        assert_eq!(c("pkg:npm/x@v1.2.3"), "pkg:npm/x@v1.2.3");
    }

    #[test]
    fn rpmmod_without_stream_is_noted() {
        let (p, notes) =
            canonicalize("pkg:rpm/redhat/firefox-flatpak@128.0-1.el10?arch=src&rpmmod=rhel10").unwrap();
        assert_eq!(
            p,
            "pkg:rpm/redhat/firefox-flatpak@128.0-1.el10?arch=src&rpmmod=rhel10"
        );
        assert_eq!(
            notes,
            vec![PurlNote::QualifierInvalid {
                key: "rpmmod",
                value: "rhel10".into()
            }]
        );
        assert!(
            canonicalize("pkg:rpm/redhat/x@1?rpmmod=container-tools:rhel8")
                .unwrap()
                .1
                .is_empty()
        );
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "CVE-2023-1234",
            "https://example.com/x",
            "pkg:",
            "pkg:npm",
            "pkg:npm/",
            "pkg:1npm/x",
            "pkg:npm/x%zz",
            "pkg:npm/x%c3",
            "pkg:npm/x?a",
            "pkg:npm/x?a=1&a=2",
            "pkg:npm/x?1a=1",
        ] {
            assert!(canonicalize(bad).is_err(), "{bad}");
        }
    }
}
