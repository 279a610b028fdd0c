//! The consensus policy (`vex.policy/v1`) and issuer registry (`vex.issuers/v1`), SPEC.md §14.4.

use super::{
    ALGORITHM, ISSUERS_TYPE, Mode, Obj, POLICY_TYPE, PPM, Tier, VexError, check_id, check_type, pointer_push,
};
use crate::limits::{
    MAX_SAFE_INTEGER, MAX_VEX_DECAY_DAYS, MAX_VEX_FACTOR_PPM, MAX_VEX_ID_BYTES, MAX_VEX_STATEMENTS,
    MAX_VEX_TEXT_BYTES,
};
use crate::node::{Node, NodeId};
use serde_json::{Map, Value, json};

/// The knobs of `vex-consensus/1`, read from a `vex.policy/v1` node. Every member the node
/// omits takes its default (SPEC.md §14.4 table); [`Policy::default`] is the all-defaults policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    node: Node,
    mode: Mode,
    weights: [u64; 5],
    signed_multiplier_ppm: u64,
    freshness_decay_days: u64,
    min_freshness_ppm: u64,
    justified_not_affected_boost_ppm: u64,
    fixed_status_boost_ppm: u64,
    minimum_weight_threshold_ppm: u64,
    conflict_threshold_ppm: u64,
    require_justification_for_not_affected: bool,
    max_statements_per_computation: u64,
    issuers: Option<NodeId>,
}

/// Default tier weights, in [`Tier`] order (authoritative … untrusted).
const DEFAULT_WEIGHTS: [u64; 5] = [1_000_000, 800_000, 500_000, 300_000, 100_000];

impl Default for Policy {
    /// The defaults of SPEC.md §14.4, as a full `vex.policy/v1` node with `"issuers": null`.
    fn default() -> Self {
        let value = json!({
            "type": POLICY_TYPE,
            "algo": ALGORITHM,
            "mode": Mode::WeightedVote.as_str(),
            "weights_ppm": {
                "authoritative": DEFAULT_WEIGHTS[0],
                "trusted": DEFAULT_WEIGHTS[1],
                "known": DEFAULT_WEIGHTS[2],
                "unknown": DEFAULT_WEIGHTS[3],
                "untrusted": DEFAULT_WEIGHTS[4],
            },
            "signed_multiplier_ppm": 1_200_000,
            "freshness_decay_days": 30,
            "min_freshness_ppm": 500_000,
            "justified_not_affected_boost_ppm": 1_100_000,
            "fixed_status_boost_ppm": 1_050_000,
            "minimum_weight_threshold_ppm": 100_000,
            "conflict_threshold_ppm": 300_000,
            "require_justification_for_not_affected": false,
            "max_statements_per_computation": 100,
            "issuers": null,
        });
        // A small literal object of strings, integers, booleans and null is a valid node.
        #[allow(clippy::expect_used)]
        let node = Node::from_value(value).expect("the default policy is a valid node");
        #[allow(clippy::expect_used)]
        Self::from_node(&node).expect("the default policy parses")
    }
}

fn bounded(o: &mut Obj<'_>, name: &'static str, default: u64, min: u64, max: u64) -> Result<u64, VexError> {
    match o.opt(name) {
        None => Ok(default),
        Some(v) => {
            let n = o.uint_value(name, v)?;
            if n < min || n > max {
                return Err(o.err(name, "out of the allowed range"));
            }
            Ok(n)
        }
    }
}

impl Policy {
    /// Parses a `vex.policy/v1` node (SPEC.md §14.4). Omitted members take their defaults;
    /// unknown members, wrong types and values outside the allowed ranges fail with
    /// `VEX_INVALID`. `links` is allowed and not interpreted.
    pub fn from_node(node: &Node) -> Result<Self, VexError> {
        let value = node.value();
        let mut o = Obj::new(&value, POLICY_TYPE, String::new())?;
        check_type(&mut o, POLICY_TYPE)?;
        if let Some(v) = o.opt("algo")
            && v.as_str() != Some(ALGORITHM)
        {
            return Err(o.err("algo", "must be \"vex-consensus/1\""));
        }
        let mode = match o.opt("mode") {
            None => Mode::WeightedVote,
            Some(v) => v
                .as_str()
                .and_then(Mode::parse)
                .ok_or_else(|| o.err("mode", "not a consensus mode"))?,
        };
        let mut weights = DEFAULT_WEIGHTS;
        if let Some(w) = o.opt("weights_ppm") {
            let mut wo = Obj::new(w, POLICY_TYPE, o.path("weights_ppm"))?;
            for tier in Tier::ALL {
                weights[*tier as usize] = bounded(
                    &mut wo,
                    tier.as_str(),
                    DEFAULT_WEIGHTS[*tier as usize],
                    0,
                    MAX_VEX_FACTOR_PPM,
                )?;
            }
            wo.finish(&[])?;
        }
        let signed_multiplier_ppm =
            bounded(&mut o, "signed_multiplier_ppm", 1_200_000, 0, MAX_VEX_FACTOR_PPM)?;
        let freshness_decay_days = bounded(&mut o, "freshness_decay_days", 30, 1, MAX_VEX_DECAY_DAYS)?;
        let min_freshness_ppm = bounded(&mut o, "min_freshness_ppm", 500_000, 0, PPM)?;
        let justified_not_affected_boost_ppm = bounded(
            &mut o,
            "justified_not_affected_boost_ppm",
            1_100_000,
            0,
            MAX_VEX_FACTOR_PPM,
        )?;
        let fixed_status_boost_ppm =
            bounded(&mut o, "fixed_status_boost_ppm", 1_050_000, 0, MAX_VEX_FACTOR_PPM)?;
        let minimum_weight_threshold_ppm = bounded(
            &mut o,
            "minimum_weight_threshold_ppm",
            100_000,
            1,
            MAX_SAFE_INTEGER,
        )?;
        let conflict_threshold_ppm = bounded(&mut o, "conflict_threshold_ppm", 300_000, 0, PPM)?;
        let require_justification_for_not_affected = match o.opt("require_justification_for_not_affected") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(o.err("require_justification_for_not_affected", "must be a boolean")),
        };
        let max_statements_per_computation = bounded(
            &mut o,
            "max_statements_per_computation",
            100,
            1,
            MAX_VEX_STATEMENTS as u64,
        )?;
        let issuers = match o.opt("issuers") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(
                s.parse()
                    .map_err(|_| o.err("issuers", "must be the NodeId of a vex.issuers/v1 node, or null"))?,
            ),
            Some(_) => return Err(o.err("issuers", "must be a NodeId string or null")),
        };
        o.finish(&["links"])?;
        Ok(Self {
            node: node.clone(),
            mode,
            weights,
            signed_multiplier_ppm,
            freshness_decay_days,
            min_freshness_ppm,
            justified_not_affected_boost_ppm,
            fixed_status_boost_ppm,
            minimum_weight_threshold_ppm,
            conflict_threshold_ppm,
            require_justification_for_not_affected,
            max_statements_per_computation,
            issuers,
        })
    }

    /// The policy node (its NodeId is what a consensus node records as `policy`).
    pub fn node(&self) -> &Node {
        &self.node
    }
    /// The policy's default mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// Base weight of a tier, ppm.
    pub fn weight_ppm(&self, tier: Tier) -> u64 {
        self.weights[tier as usize]
    }
    /// Multiplier for a verified signature, ppm.
    pub fn signed_multiplier_ppm(&self) -> u64 {
        self.signed_multiplier_ppm
    }
    /// Days to reach the freshness floor (`D`).
    pub fn freshness_decay_days(&self) -> u64 {
        self.freshness_decay_days
    }
    /// The freshness floor, ppm.
    pub fn min_freshness_ppm(&self) -> u64 {
        self.min_freshness_ppm
    }
    /// Boost of a justified `not_affected`, ppm.
    pub fn justified_not_affected_boost_ppm(&self) -> u64 {
        self.justified_not_affected_boost_ppm
    }
    /// Boost of `fixed`, ppm.
    pub fn fixed_status_boost_ppm(&self) -> u64 {
        self.fixed_status_boost_ppm
    }
    /// Eligibility threshold (inclusive), ppm.
    pub fn minimum_weight_threshold_ppm(&self) -> u64 {
        self.minimum_weight_threshold_ppm
    }
    /// Conflict threshold on dissent (inclusive), ppm.
    pub fn conflict_threshold_ppm(&self) -> u64 {
        self.conflict_threshold_ppm
    }
    /// Whether an unjustified `not_affected` is ineligible.
    pub fn require_justification_for_not_affected(&self) -> bool {
        self.require_justification_for_not_affected
    }
    /// Most distinct statement nodes per computation.
    pub fn max_statements_per_computation(&self) -> u64 {
        self.max_statements_per_computation
    }
    /// The issuer registry this policy is bound to, if any.
    pub fn issuers(&self) -> Option<NodeId> {
        self.issuers
    }
}

/// One registered issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerEntry {
    issuer_id: String,
    tier: Tier,
    authoritative_for: Vec<String>,
    public_key: Option<String>,
}

impl IssuerEntry {
    /// Registry key.
    pub fn issuer_id(&self) -> &str {
        &self.issuer_id
    }
    /// General tier (never [`Tier::Authoritative`]: that tier is only reached through
    /// `authoritative_for`).
    pub fn tier(&self) -> Tier {
        self.tier
    }
    /// Product-key prefixes for which the issuer is authoritative, sorted.
    pub fn authoritative_for(&self) -> &[String] {
        &self.authoritative_for
    }
    /// The registered signing key, as written (ingest uses it; consensus does not).
    pub fn public_key(&self) -> Option<&str> {
        self.public_key.as_deref()
    }
}

/// The issuer registry: each issuer's general tier and the product-key prefixes it is
/// authoritative for (SPEC.md §14.4). Issuers not listed are [`Tier::Unknown`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerRegistry {
    node: Node,
    entries: Vec<IssuerEntry>,
}

impl IssuerRegistry {
    /// The empty registry `{"issuers":[],"type":"vex.issuers/v1"}`: every issuer is unknown.
    pub fn empty() -> Self {
        let mut m = Map::new();
        m.insert("type".into(), Value::String(ISSUERS_TYPE.into()));
        m.insert("issuers".into(), Value::Array(Vec::new()));
        // Two members, a string and an empty array: always a valid, small node.
        #[allow(clippy::expect_used)]
        let node = Node::from_value(Value::Object(m)).expect("the empty registry is a valid node");
        Self {
            node,
            entries: Vec::new(),
        }
    }

    /// Parses a `vex.issuers/v1` node strictly (SPEC.md §14.4): `issuers` sorted by
    /// `issuer_id` without duplicates, every entry with exactly `issuer_id`, `tier`,
    /// `authoritative_for` (sorted, unique prefixes) and `public_key` (string or null); the
    /// general tier is never `authoritative`. `links` is allowed and not interpreted.
    pub fn from_node(node: &Node) -> Result<Self, VexError> {
        let value = node.value();
        let mut o = Obj::new(&value, ISSUERS_TYPE, String::new())?;
        check_type(&mut o, ISSUERS_TYPE)?;
        let items = o.array("issuers")?;
        let base = o.path("issuers");
        let mut entries: Vec<IssuerEntry> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let mut e = Obj::new(item, ISSUERS_TYPE, pointer_push(&base, &i.to_string()))?;
            let issuer_id = e.string("issuer_id")?;
            check_id(&e, "issuer_id", issuer_id)?;
            if entries.last().is_some_and(|p| p.issuer_id.as_str() >= issuer_id) {
                return Err(e.err(
                    "issuer_id",
                    "issuers must be sorted by issuer_id without duplicates",
                ));
            }
            let tier = e
                .string("tier")
                .map(Tier::parse)?
                .ok_or_else(|| e.err("tier", "not a tier"))?;
            if tier == Tier::Authoritative {
                return Err(e.err(
                    "tier",
                    "authoritative must be scoped: list product-key prefixes in authoritative_for",
                ));
            }
            let authoritative_for = e.sorted_strings("authoritative_for", MAX_VEX_ID_BYTES, true)?;
            let public_key = e.string_or_null("public_key")?;
            if public_key.is_some_and(|k| k.is_empty() || k.len() > MAX_VEX_TEXT_BYTES) {
                return Err(e.err(
                    "public_key",
                    "must be a non-empty string within MAX_VEX_TEXT_BYTES, or null",
                ));
            }
            let entry = IssuerEntry {
                issuer_id: issuer_id.to_owned(),
                tier,
                authoritative_for,
                public_key: public_key.map(str::to_owned),
            };
            e.finish(&[])?;
            entries.push(entry);
        }
        o.finish(&["links"])?;
        Ok(Self {
            node: node.clone(),
            entries,
        })
    }

    /// The registry node (its NodeId is linked from every consensus node as `issuers`).
    pub fn node(&self) -> &Node {
        &self.node
    }
    /// The entries, sorted by issuer id.
    pub fn entries(&self) -> &[IssuerEntry] {
        &self.entries
    }
    /// The entry of an issuer.
    pub fn get(&self, issuer_id: &str) -> Option<&IssuerEntry> {
        self.entries
            .binary_search_by(|e| e.issuer_id.as_str().cmp(issuer_id))
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    /// The scoped tier of `issuer_id` for `product_key` (SPEC.md §14.4): `authoritative` if the
    /// key starts with one of the issuer's `authoritative_for` prefixes, else its general tier;
    /// `unknown` for an unregistered issuer.
    pub fn tier_for(&self, issuer_id: &str, product_key: &str) -> Tier {
        match self.get(issuer_id) {
            None => Tier::Unknown,
            Some(e)
                if e.authoritative_for
                    .iter()
                    .any(|p| product_key.starts_with(p.as_str())) =>
            {
                Tier::Authoritative
            }
            Some(e) => e.tier,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(s: &str) -> Node {
        Node::from_json(s.as_bytes()).unwrap()
    }

    #[test]
    fn default_policy_matches_the_table() {
        let p = Policy::default();
        assert_eq!(p.mode(), Mode::WeightedVote);
        assert_eq!(
            Tier::ALL.iter().map(|t| p.weight_ppm(*t)).collect::<Vec<_>>(),
            [1_000_000, 800_000, 500_000, 300_000, 100_000]
        );
        assert_eq!(p.signed_multiplier_ppm(), 1_200_000);
        assert_eq!((p.freshness_decay_days(), p.min_freshness_ppm()), (30, 500_000));
        assert_eq!(p.justified_not_affected_boost_ppm(), 1_100_000);
        assert_eq!(p.fixed_status_boost_ppm(), 1_050_000);
        assert_eq!(p.minimum_weight_threshold_ppm(), 100_000);
        assert_eq!(p.conflict_threshold_ppm(), 300_000);
        assert!(!p.require_justification_for_not_affected());
        assert_eq!(p.max_statements_per_computation(), 100);
        assert_eq!(p.issuers(), None);
        // A minimal node gets the same knobs (but is a different node).
        let min = Policy::from_node(&node(r#"{"type":"vex.policy/v1"}"#)).unwrap();
        assert_eq!(min.weights, p.weights);
        assert_ne!(min.node().id(), p.node().id());
    }

    #[test]
    fn policy_rejects_bad_members() {
        for (doc, pointer) in [
            (r#"{"type":"vex.policy/v1","algo":"vex-consensus/2"}"#, "/algo"),
            (r#"{"type":"vex.policy/v1","mode":"weightedvote"}"#, "/mode"),
            (
                r#"{"type":"vex.policy/v1","freshness_decay_days":0}"#,
                "/freshness_decay_days",
            ),
            (
                r#"{"type":"vex.policy/v1","min_freshness_ppm":1000001}"#,
                "/min_freshness_ppm",
            ),
            (
                r#"{"type":"vex.policy/v1","minimum_weight_threshold_ppm":0}"#,
                "/minimum_weight_threshold_ppm",
            ),
            (
                r#"{"type":"vex.policy/v1","max_statements_per_computation":1001}"#,
                "/max_statements_per_computation",
            ),
            (
                r#"{"type":"vex.policy/v1","weights_ppm":{"trusted":-1}}"#,
                "/weights_ppm/trusted",
            ),
            (
                r#"{"type":"vex.policy/v1","weights_ppm":{"vendor":1}}"#,
                "/weights_ppm/vendor",
            ),
            (r#"{"type":"vex.policy/v1","issuers":"redhat"}"#, "/issuers"),
            (r#"{"type":"vex.policy/v1","name":"x"}"#, "/name"),
            (r#"{"type":"vex.issuers/v1"}"#, "/type"),
        ] {
            let e = Policy::from_node(&node(doc)).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::VexInvalid, "{doc}");
            let VexError::Invalid { pointer: p, .. } = e else {
                panic!()
            };
            assert_eq!(p, pointer, "{doc}");
        }
    }

    #[test]
    fn registry_scopes_authoritative() {
        let r = IssuerRegistry::from_node(&node(
            r#"{"type":"vex.issuers/v1","issuers":[
              {"issuer_id":"aqua","tier":"known","authoritative_for":[],"public_key":null},
              {"issuer_id":"redhat","tier":"trusted","authoritative_for":["cpe:/o:redhat:","pkg:rpm/redhat/"],"public_key":"k"}]}"#,
        ))
        .unwrap();
        assert_eq!(
            r.tier_for("redhat", "pkg:rpm/redhat/curl@7.76.1"),
            Tier::Authoritative
        );
        assert_eq!(r.tier_for("redhat", "pkg:deb/debian/curl@7"), Tier::Trusted);
        assert_eq!(r.tier_for("aqua", "pkg:rpm/redhat/curl@7.76.1"), Tier::Known);
        assert_eq!(r.tier_for("nobody", "pkg:rpm/redhat/curl@7.76.1"), Tier::Unknown);
    }

    #[test]
    fn registry_rejects_bad_entries() {
        for (doc, pointer) in [
            (
                r#"{"type":"vex.issuers/v1","issuers":[{"issuer_id":"b","tier":"known","authoritative_for":[],"public_key":null},{"issuer_id":"a","tier":"known","authoritative_for":[],"public_key":null}]}"#,
                "/issuers/1/issuer_id",
            ),
            (
                r#"{"type":"vex.issuers/v1","issuers":[{"issuer_id":"a","tier":"authoritative","authoritative_for":[],"public_key":null}]}"#,
                "/issuers/0/tier",
            ),
            (
                r#"{"type":"vex.issuers/v1","issuers":[{"issuer_id":"a","tier":"known","authoritative_for":["b","a"],"public_key":null}]}"#,
                "/issuers/0/authoritative_for/1",
            ),
            (
                r#"{"type":"vex.issuers/v1","issuers":[{"issuer_id":"a","tier":"known","authoritative_for":[]}]}"#,
                "/issuers/0/public_key",
            ),
            (
                r#"{"type":"vex.issuers/v1","issuers":[{"issuer_id":"a","tier":"known","authoritative_for":[],"public_key":null,"x":1}]}"#,
                "/issuers/0/x",
            ),
        ] {
            let e = IssuerRegistry::from_node(&node(doc)).unwrap_err();
            let VexError::Invalid { pointer: p, .. } = e else {
                panic!("{doc}")
            };
            assert_eq!(p, pointer, "{doc}");
        }
    }
}
