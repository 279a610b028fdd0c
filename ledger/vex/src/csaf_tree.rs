//! The CSAF product tree: full product names, relationships and groups (docs/vex-ingest.md
//! "CSAF 2.0"). Product ids are document-local; this resolves them to keys.

use super::finding::{Finding, FindingCode, ptr};
use super::keys::Candidates;
use super::{Out, text, varr};
use serde_json::{Map, Value};
use std::collections::HashMap;

struct Rel<'a> {
    category: &'a str,
    product_reference: &'a str,
    relates_to: &'a str,
}

/// The product tree: full product names by id (branches, `full_product_names`,
/// relationships), relationships by id, and groups.
pub(super) struct Tree<'a> {
    defs: HashMap<&'a str, &'a Value>,
    rels: HashMap<&'a str, Rel<'a>>,
    pub(super) groups: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Tree<'a> {
    pub(super) fn build(pt: &'a Value, out: &mut Out) -> Self {
        let mut t = Tree {
            defs: HashMap::new(),
            rels: HashMap::new(),
            groups: HashMap::new(),
        };
        t.branches(varr(pt, "branches"), "/product_tree/branches", out);
        for (i, f) in varr(pt, "full_product_names").iter().enumerate() {
            t.define(f, ptr("/product_tree/full_product_names", i), out);
        }
        for (i, r) in varr(pt, "relationships").iter().enumerate() {
            let at = ptr("/product_tree/relationships", i);
            let (Some(fpn), Some(pr), Some(rt)) = (
                r.get("full_product_name"),
                text(r, "product_reference"),
                text(r, "relates_to_product_reference"),
            ) else {
                out.finding(
                    FindingCode::EntryMalformed,
                    at,
                    "relationship lacks full_product_name or references; ignored",
                );
                continue;
            };
            if let Some(id) = t.define(fpn, ptr(&at, "full_product_name"), out) {
                let category = text(r, "category").unwrap_or_default();
                t.rels.insert(
                    id,
                    Rel {
                        category,
                        product_reference: pr,
                        relates_to: rt,
                    },
                );
            }
        }
        for (i, g) in varr(pt, "product_groups").iter().enumerate() {
            match text(g, "group_id") {
                Some(id) => {
                    let ids = varr(g, "product_ids").iter().filter_map(Value::as_str).collect();
                    t.groups.entry(id).or_insert(ids);
                }
                None => out.finding(
                    FindingCode::EntryMalformed,
                    ptr("/product_tree/product_groups", i),
                    "group without group_id",
                ),
            }
        }
        t
    }

    fn branches(&mut self, bs: &'a [Value], at: &str, out: &mut Out) {
        for (i, b) in bs.iter().enumerate() {
            let bp = ptr(at, i);
            if let Some(p) = b.get("product") {
                self.define(p, ptr(&bp, "product"), out);
            }
            self.branches(varr(b, "branches"), &ptr(&bp, "branches"), out);
        }
    }

    /// Records a full product name; a second definition of an id is a finding (CSAF 6.1.2) and
    /// the first one stays. Returns the id when this definition is the one in force.
    fn define(&mut self, fpn: &'a Value, at: String, out: &mut Out) -> Option<&'a str> {
        let Some(id) = text(fpn, "product_id") else {
            out.finding(
                FindingCode::EntryMalformed,
                at,
                "full product name without product_id; ignored",
            );
            return None;
        };
        match self.defs.get(id) {
            Some(prev) if *prev == fpn => {
                out.finding(
                    FindingCode::CsafDuplicateProductDefinition,
                    at,
                    format!("product {id:?} defined again with identical content (CSAF 6.1.2); deduplicated"),
                );
                None
            }
            Some(_) => {
                out.finding(
                    FindingCode::CsafConflictingProductDefinition,
                    at,
                    format!("product {id:?} defined again with different content (CSAF 6.1.2); first definition used"),
                );
                None
            }
            None => {
                self.defs.insert(id, fpn);
                Some(id)
            }
        }
    }

    /// Key and raw identifiers of a plain full product name.
    fn def_key(
        &self,
        id: &str,
        scope: &str,
        at: &str,
        f: &mut Vec<Finding>,
    ) -> Option<(String, Map<String, Value>)> {
        let def = self.defs.get(id)?;
        let helper = def.get("product_identification_helper").unwrap_or(&Value::Null);
        let mut idents = Map::new();
        idents.insert("csaf_product_id".into(), id.into());
        let name = text(def, "name").unwrap_or(id);
        idents.insert("name".into(), name.into());
        let mut cand = Candidates {
            name: Some(name.to_string()),
            ..Default::default()
        };
        if let Some(p) = text(helper, "purl") {
            cand.purls.push(p);
            idents.insert("purl".into(), p.into());
        }
        if let Some(c) = text(helper, "cpe") {
            cand.cpes.push(c);
            idents.insert("cpe".into(), c.into());
        }
        if let Some(h) = helper.get("hashes") {
            idents.insert("hashes".into(), h.clone());
            for fh in h.as_array().into_iter().flatten() {
                for x in varr(fh, "file_hashes") {
                    if let (Some(a), Some(v)) = (text(x, "algorithm"), text(x, "value")) {
                        cand.hashes.push((a, v));
                    }
                }
            }
        }
        Some((cand.key(scope, at, f)?, idents))
    }
}

/// One product id as listed in a status group, resolved.
pub(super) struct Resolved {
    pub(super) key: String,
    pub(super) idents: Map<String, Value>,
    pub(super) sub: Option<String>,
    pub(super) findings: Vec<Finding>,
}

impl Tree<'_> {
    /// Resolves a product id listed in a status group (MAPPING.md: for a relationship, product =
    /// `relates_to_product_reference`, subcomponent = `product_reference`).
    pub(super) fn resolve(&self, scope: &str, pid: &str, at: &str, out: &mut Out) -> Option<Resolved> {
        let mut f = Vec::new();
        let t = self;
        let Some(rel) = t.rels.get(pid) else {
            let Some((key, idents)) = t.def_key(pid, scope, at, &mut f) else {
                out.finding(
                    FindingCode::CsafUnknownProductId,
                    at,
                    format!("product {pid:?} is not defined; skipped"),
                );
                return None;
            };
            return Some(Resolved {
                key,
                idents,
                sub: None,
                findings: f,
            });
        };
        // MAPPING.md: product = relates_to_product_reference, subcomponent = product_reference.
        let Some((key, mut idents)) = t.def_key(rel.relates_to, scope, at, &mut f) else {
            out.finding(
                FindingCode::CsafUnknownProductId,
                at,
                format!(
                    "relationship {pid:?} relates to undefined product {:?}; skipped",
                    rel.relates_to
                ),
            );
            return None;
        };
        let sub = t
            .def_key(rel.product_reference, scope, at, &mut f)
            .map(|(k, _)| k);
        if sub.is_none() {
            out.finding(
                FindingCode::CsafUnknownProductId,
                at,
                format!(
                    "relationship {pid:?} names undefined component {:?}; kept without it",
                    rel.product_reference
                ),
            );
        }
        idents.insert("csaf_product_id".into(), pid.into());
        if let Some(n) = t.defs.get(pid).and_then(|d| text(d, "name")) {
            idents.insert("name".into(), n.into());
        }
        idents.insert("relationship_category".into(), rel.category.into());
        idents.insert("relates_to_product_reference".into(), rel.relates_to.into());
        idents.insert("product_reference".into(), rel.product_reference.into());
        Some(Resolved {
            key,
            idents,
            sub,
            findings: f,
        })
    }
}
