//! # evl-client: async HTTP client for the Evidence Ledger API
//!
//! A [`Client`] appends nodes and fetches nodes, receipts, checkpoints, consistency proofs and
//! anchors, and verifies every response on receipt against the [`TrustRoot`] the caller
//! supplies, with the same checks as the offline verifier (SPEC.md §3–§8). A response that
//! fails verification is an error ([`ClientError::Verification`]), never a value: the server
//! is not trusted. What the checks prove comes back as [`Verified`] evidence.
//!
//! Every check is `evl-sdk`'s: this crate adds the network I/O and the clock the SDK leaves out
//! (the SDK stays pure and builds for wasm32), and it is the only one of the two that depends on
//! reqwest (rustls on ring).
//!
//! The example at the end of this page (`sdk/client/src/example.rs`) also runs as a test against
//! an in-process server (`server/tests/client_example.rs`).
//!
//! **Time.** Key validity (SPEC.md §8.2) is judged at a verification time. By default the client
//! reads the system clock ([`std::time::SystemTime`]) when it verifies a response: the SDK reads
//! no clock, this crate does, since it does network I/O anyway. [`Client::with_time`] fixes the
//! time instead. Anchors are judged at their own signed `time` (SPEC.md §7.2), whatever the
//! client's time.
//!
//! What it does not do: no retries, no caching, no freshness. It keeps no state between calls:
//! a caller that wants to know the log did not fork keeps the tree heads it has verified and
//! passes them to [`Client::consistency`], or keeps an anchor as its trust point. Redirects are
//! not followed (the bearer token goes only to the base URL's host).
//!
//! # Example
#![doc = concat!("```no_run\n", include_str!("example.rs"), "```")]

pub use evl_sdk;
/// A verified append, now defined in the SDK (`evl_sdk::AppendResult`), which alone can vouch
/// for it; re-exported here, where [`Client::append`] returns it.
pub use evl_sdk::receipt::AppendResult;

use evl_sdk::anchor::{Anchor, AnchorSummary, ChainEvidence};
use evl_sdk::checkpoint::SignedCheckpoint;
use evl_sdk::code::ErrorCode;
use evl_sdk::node::{Node, NodeId};
use evl_sdk::proof::{Consistency, ConsistencyProof, TreeHead};
use evl_sdk::receipt::{Receipt, ReceiptEvidence};
use evl_sdk::time::Timestamp;
use evl_sdk::tree::TreeSize;
use evl_sdk::trust::{CheckpointEvidence, TrustRoot};
use evl_sdk::verified::Verified;
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// Largest response body the client reads (32 MiB); a longer one is
/// [`ClientError::Unexpected`].
///
/// Rationale: the largest single document is a node (at most
/// [`MAX_NODE_BYTES`](evl_sdk::limits::MAX_NODE_BYTES), 16 MiB); a batch of receipts is a few KiB
/// per node. 2× headroom bounds the memory a hostile or broken server can make a call use.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Time limit for one HTTP request, from connecting to the end of the body (60 s).
///
/// Rationale: every API call is one bounded read or one append; a server that takes longer is
/// stuck, and the caller should see an error rather than wait forever.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest server-supplied text (error code or message) kept in a [`ClientError`], in bytes.
///
/// Rationale: API error messages are one sentence; the bound keeps a hostile server from
/// flooding the caller's logs through error text.
pub const MAX_ERROR_TEXT_BYTES: usize = 1024;

/// What went wrong in a client call. [`ClientError::code`] is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The caller's input failed an SDK check before anything was sent (e.g. a node that is not
    /// strict JSON): `code` is from the SPEC.md §12 registry.
    #[error("rejected before sending: {message}")]
    Input {
        /// Registry code.
        code: ErrorCode,
        /// Detail.
        message: String,
    },
    /// A server response failed verification: the server is wrong or lying. `code` is from the
    /// SPEC.md §12 registry (e.g. `MERKLE_MISMATCH`, `SIGNATURE_INVALID`, `NODE_ID_MISMATCH`).
    #[error("response failed verification: {message}")]
    Verification {
        /// Registry code.
        code: ErrorCode,
        /// Detail.
        message: String,
    },
    /// The request did not complete: connection, TLS, timeout, or reading the body
    /// (`HTTP_ERROR`).
    #[error("HTTP_ERROR: {0}")]
    Http(String),
    /// The server answered with an error status (`SERVER_ERROR`).
    #[error("SERVER_ERROR: HTTP {status}: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
    Server {
        /// The HTTP status.
        status: u16,
        /// The server's stable code from its `{"code", "message"}` body; `None` when the body
        /// was not in that form.
        code: Option<String>,
        /// The server's message, or the start of a body not in that form.
        message: String,
    },
    /// The response is not what the API promises: wrong status or shape, too large, an answer
    /// to another question (`UNEXPECTED_RESPONSE`).
    #[error("UNEXPECTED_RESPONSE: {0}")]
    Unexpected(String),
    /// The client could not be set up: bad base URL or token, no usable clock
    /// (`CLIENT_CONFIG`).
    #[error("CLIENT_CONFIG: {0}")]
    Config(String),
}

impl ClientError {
    /// Code of [`ClientError::Http`].
    pub const HTTP_ERROR: &'static str = "HTTP_ERROR";
    /// Code of [`ClientError::Server`].
    pub const SERVER_ERROR: &'static str = "SERVER_ERROR";
    /// Code of [`ClientError::Unexpected`].
    pub const UNEXPECTED_RESPONSE: &'static str = "UNEXPECTED_RESPONSE";
    /// Code of [`ClientError::Config`].
    pub const CLIENT_CONFIG: &'static str = "CLIENT_CONFIG";

    /// The stable code: the registry code of an SDK check ([`ErrorCode::as_str`]) for
    /// [`ClientError::Input`] and [`ClientError::Verification`], else one of the constants above.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::Input { code, .. } | ClientError::Verification { code, .. } => code.as_str(),
            ClientError::Http(_) => Self::HTTP_ERROR,
            ClientError::Server { .. } => Self::SERVER_ERROR,
            ClientError::Unexpected(_) => Self::UNEXPECTED_RESPONSE,
            ClientError::Config(_) => Self::CLIENT_CONFIG,
        }
    }

    /// The registry code when an SDK check failed (input or verification), else `None`.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Input { code, .. } | ClientError::Verification { code, .. } => Some(*code),
            _ => None,
        }
    }

    fn input(code: ErrorCode, e: impl fmt::Display) -> Self {
        ClientError::Input {
            code,
            message: e.to_string(),
        }
    }

    fn verification(code: ErrorCode, e: impl fmt::Display) -> Self {
        ClientError::Verification {
            code,
            message: e.to_string(),
        }
    }

    fn http(e: &reqwest::Error) -> Self {
        // reqwest's own message is terse ("error sending request"); the cause is in the chain.
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(cause) = src {
            s.push_str(": ");
            s.push_str(&cause.to_string());
            src = cause.source();
        }
        ClientError::Http(s)
    }
}

/// An async client for one ledger, verifying every response against one trust root.
///
/// Cheap to clone (the connection pool is shared).
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    /// `Bearer <token>`, marked sensitive so it is not printed.
    auth: Option<HeaderValue>,
    trust: TrustRoot,
    /// Fixed verification time; `None` reads the system clock.
    time: Option<Timestamp>,
}

impl Client {
    /// A client for the ledger at `base_url` (`http` or `https`, optionally with a path prefix),
    /// sending `Authorization: Bearer <token>` when a token is given, verifying against `trust`.
    pub fn new(base_url: &str, token: Option<&str>, trust: TrustRoot) -> Result<Self, ClientError> {
        let mut base =
            Url::parse(base_url).map_err(|e| ClientError::Config(format!("base URL {base_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ClientError::Config(format!(
                "base URL {base_url:?} must be an http or https URL"
            )));
        }
        base.set_query(None);
        base.set_fragment(None);
        let auth = token
            .map(|t| {
                let mut v = HeaderValue::from_str(&format!("Bearer {t}"))
                    .map_err(|_| ClientError::Config("the token is not a valid header value".into()))?;
                v.set_sensitive(true);
                Ok::<_, ClientError>(v)
            })
            .transpose()?;
        let http = reqwest::Client::builder()
            // Unchanged since the client was the SDK's `client` feature (same workspace version).
            .user_agent(concat!("evl-sdk/", env!("CARGO_PKG_VERSION")))
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            auth,
            trust,
            time: None,
        })
    }

    /// Verifies at the fixed time `at` instead of reading the system clock.
    #[must_use]
    pub fn with_time(mut self, at: Timestamp) -> Self {
        self.time = Some(at);
        self
    }

    /// The trust root responses are verified against.
    pub fn trust_root(&self) -> &TrustRoot {
        &self.trust
    }

    /// Appends one node (`POST /v1/nodes`). The node is canonicalized here first, so bad JSON is
    /// rejected before sending ([`ClientError::Input`]); the receipt must verify (SPEC.md §5.4)
    /// and be for the NodeId computed here.
    pub async fn append(&self, node_json: &[u8]) -> Result<Verified<AppendResult>, ClientError> {
        let node = Node::from_json(node_json).map_err(|e| ClientError::input(e.code(), &e))?;
        let reply = self.post(&["v1", "nodes"], node.bytes().to_vec()).await?;
        check_append_response(reply.status, &reply.body, node.id(), &self.trust, self.now()?)
    }

    /// Appends nodes in one request (`POST /v1/nodes` with `{"nodes": [...]}`); results are in
    /// the order given. Every node is canonicalized first and nothing is sent if one fails.
    /// An empty slice sends nothing and returns no results.
    pub async fn append_batch(&self, nodes: &[&[u8]]) -> Result<Vec<Verified<AppendResult>>, ClientError> {
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = Vec::with_capacity(nodes.len());
        let mut body = b"{\"nodes\":[".to_vec();
        for (i, json) in nodes.iter().enumerate() {
            let node = Node::from_json(json)
                .map_err(|e| ClientError::input(e.code(), format!("node {i}: {e}; nothing was sent")))?;
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(node.bytes());
            ids.push(node.id());
        }
        body.extend_from_slice(b"]}");
        let reply = self.post(&["v1", "nodes"], body).await?;
        check_batch_response(reply.status, &reply.body, &ids, &self.trust, self.now()?)
    }

    /// Fetches a node's canonical bytes (`GET /v1/nodes/{id}`); they must hash to `id`
    /// (`NODE_ID_MISMATCH`) and be a valid canonical node.
    pub async fn get(&self, id: &NodeId) -> Result<Node, ClientError> {
        let reply = self.get_path(&["v1", "nodes", &id.to_string()], None).await?;
        check_node_response(reply.status, &reply.body, *id)
    }

    /// Fetches and verifies a receipt for `id` (`GET /v1/nodes/{id}/proof[?size=N]`): at the
    /// latest checkpoint, or at tree size `size` when given.
    pub async fn prove(
        &self,
        id: &NodeId,
        size: Option<TreeSize>,
    ) -> Result<Verified<ReceiptEvidence>, ClientError> {
        let query = size.map(|n| ("size", n.to_string()));
        let reply = self
            .get_path(&["v1", "nodes", &id.to_string(), "proof"], Some(query.as_slice()))
            .await?;
        check_proof_response(reply.status, &reply.body, *id, size, &self.trust, self.now()?)
    }

    /// Fetches and verifies the latest checkpoint (`GET /v1/checkpoint`, SPEC.md §5.3).
    pub async fn checkpoint(&self) -> Result<Verified<CheckpointEvidence>, ClientError> {
        let reply = self.get_path(&["v1", "checkpoint"], None).await?;
        check_checkpoint_response(reply.status, &reply.body, &self.trust, self.now()?)
    }

    /// Proves that the tree `old` is a prefix of the tree `new` (SPEC.md §4.5), both heads the
    /// caller already trusts (e.g. from verified checkpoints). Fetches
    /// `GET /v1/proofs/consistency?from=…&to=…` when the sizes differ; equal sizes need no proof
    /// (the roots must be equal), and an old size of 0 or above the new one is `PROOF_MALFORMED`
    /// without asking the server.
    pub async fn consistency(
        &self,
        old: &TreeHead,
        new: &TreeHead,
    ) -> Result<Verified<Consistency>, ClientError> {
        let (m, n) = (old.size(), new.size());
        if m.get() == 0 || m >= n {
            let empty = ConsistencyProof::new(m, n, Vec::new())
                .map_err(|e| ClientError::verification(e.code(), &e))?;
            return new
                .verify_consistency(old, &empty)
                .map_err(|e| ClientError::verification(e.code(), &e));
        }
        let proof = self.consistency_proof(m.get(), n.get()).await?;
        new.verify_consistency(old, &proof)
            .map_err(|e| ClientError::verification(e.code(), &e))
    }

    /// Fetches and verifies the whole anchor chain (SPEC.md §7.2): the list (`GET /v1/anchors`),
    /// each envelope (`GET /v1/anchors/{seq}`), and the consistency proof between each pair of
    /// consecutive anchored trees. The first anchor listed is the trust point: a caller that
    /// already holds an anchor should check it is in the result (the server chooses the list).
    /// The result lists every segment break, which the caller must show to its user (§7.2
    /// step 5).
    ///
    /// Costs 1 + 2n requests for n anchors. Anchors are verified at their own signed `time`.
    pub async fn anchors(&self) -> Result<Verified<ChainEvidence>, ClientError> {
        let reply = self.get_path(&["v1", "anchors"], None).await?;
        let seqs = check_anchor_list(reply.status, &reply.body)?;
        let mut anchors = Vec::new();
        for seq in seqs {
            let reply = self.get_path(&["v1", "anchors", &seq.to_string()], None).await?;
            anchors.push(check_anchor_response(reply.status, &reply.body, Some(seq), 200)?);
        }
        let mut proofs = vec![None];
        for pair in anchors.windows(2) {
            let (q, p) = (pair[0].payload().tree_size, pair[1].payload().tree_size);
            // Sizes that need no proof (or are wrong) are judged by the chain verification.
            proofs.push(if q > 0 && q < p {
                Some(self.consistency_proof(q, p).await?)
            } else {
                None
            });
        }
        self.trust
            .verify_anchor_chain(&anchors, &proofs)
            .map_err(|e| ClientError::verification(e.code(), &e))
    }

    /// Asks the log to anchor now (`POST /v1/anchors`, admin) and verifies the new anchor on
    /// its own (SPEC.md §7.2 steps 1–3). Linking it to earlier anchors is [`Client::anchors`].
    pub async fn create_anchor(&self) -> Result<Verified<AnchorSummary>, ClientError> {
        let reply = self.post(&["v1", "anchors"], Vec::new()).await?;
        let anchor = check_anchor_response(reply.status, &reply.body, None, 201)?;
        self.trust
            .verify_anchor(&anchor)
            .map_err(|e| ClientError::verification(e.code(), &e))
    }

    /// `GET /v1/proofs/consistency?from=m&to=n`, parsed (not yet verified).
    async fn consistency_proof(&self, m: u64, n: u64) -> Result<ConsistencyProof, ClientError> {
        let query = [("from", m.to_string()), ("to", n.to_string())];
        let reply = self
            .get_path(&["v1", "proofs", "consistency"], Some(&query[..]))
            .await?;
        expect_status(reply.status, &reply.body, &[200])?;
        ConsistencyProof::from_json(&reply.body).map_err(|e| ClientError::verification(e.code(), &e))
    }

    /// The verification time: fixed, or the system clock.
    fn now(&self) -> Result<Timestamp, ClientError> {
        if let Some(t) = self.time {
            return Ok(t);
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| ClientError::Config("the system clock is before 1970".into()))?
            .as_secs();
        i64::try_from(secs)
            .ok()
            .and_then(Timestamp::from_unix)
            .ok_or_else(|| ClientError::Config("the system clock is past 9999".into()))
    }

    fn url(&self, segments: &[&str], query: Option<&[(&str, String)]>) -> Result<Url, ClientError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| ClientError::Config("the base URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            url.query_pairs_mut().extend_pairs(q);
        }
        Ok(url)
    }

    async fn get_path(
        &self,
        segments: &[&str],
        query: Option<&[(&str, String)]>,
    ) -> Result<Reply, ClientError> {
        let url = self.url(segments, query)?;
        self.send(self.http.get(url)).await
    }

    async fn post(&self, segments: &[&str], body: Vec<u8>) -> Result<Reply, ClientError> {
        let url = self.url(segments, None)?;
        self.send(
            self.http
                .post(url)
                .header(CONTENT_TYPE, "application/json")
                .body(body),
        )
        .await
    }

    /// Sends the request with the token and reads at most [`MAX_RESPONSE_BYTES`] of the body.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Reply, ClientError> {
        let req = match &self.auth {
            Some(v) => req.header(AUTHORIZATION, v.clone()),
            None => req,
        };
        let mut resp = req.send().await.map_err(|e| ClientError::http(&e))?;
        let status = resp.status().as_u16();
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| ClientError::http(&e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply { status, body })
    }
}

/// A response: status and the whole body.
struct Reply {
    status: u16,
    body: Vec<u8>,
}

fn too_large() -> ClientError {
    ClientError::Unexpected(format!(
        "response body exceeds MAX_RESPONSE_BYTES ({MAX_RESPONSE_BYTES})"
    ))
}

/// `{"created": bool, "receipt": Receipt}`. The receipt is parsed separately so that a bad one
/// is `RECEIPT_INVALID` rather than an unexpected shape.
#[derive(Deserialize)]
struct AppendJson {
    created: bool,
    receipt: serde_json::Value,
}

#[derive(Deserialize)]
struct BatchJson {
    results: Vec<AppendJson>,
}

#[derive(Deserialize)]
struct ApiErrorJson {
    code: String,
    message: String,
}

#[derive(Deserialize)]
struct AnchorListEntry {
    seq: u64,
}

/// Server text cut to [`MAX_ERROR_TEXT_BYTES`] with control characters replaced, so it is safe
/// to log.
fn clip(s: &str) -> String {
    let mut end = s.len().min(MAX_ERROR_TEXT_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end]
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// Accepts a status in `ok`; an error status becomes [`ClientError::Server`] with the server's
/// `{"code", "message"}`; anything else is unexpected.
fn expect_status(status: u16, body: &[u8], ok: &[u16]) -> Result<(), ClientError> {
    if ok.contains(&status) {
        return Ok(());
    }
    if !(400..600).contains(&status) {
        return Err(ClientError::Unexpected(format!(
            "HTTP status {status}, expected {ok:?}"
        )));
    }
    Err(match serde_json::from_slice::<ApiErrorJson>(body) {
        Ok(e) => ClientError::Server {
            status,
            code: Some(clip(&e.code)),
            message: clip(&e.message),
        },
        Err(_) => ClientError::Server {
            status,
            code: None,
            message: clip(&String::from_utf8_lossy(body)),
        },
    })
}

fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Unexpected(format!("{what}: {e}")))
}

/// One append result: the receipt must be for `expected` and verify (SPEC.md §5.4).
fn verify_append(
    r: AppendJson,
    expected: NodeId,
    trust: &TrustRoot,
    at: Timestamp,
) -> Result<Verified<AppendResult>, ClientError> {
    let receipt: Receipt = serde_json::from_value(r.receipt)
        .map_err(|e| ClientError::verification(ErrorCode::ReceiptInvalid, format!("receipt: {e}")))?;
    // Checked here too, so the message names both NodeIds without a code prefix; the SDK checks
    // it again, since only its check stands behind the `Verified`.
    if receipt.node_id != expected {
        return Err(ClientError::verification(
            ErrorCode::NodeIdMismatch,
            format!(
                "the receipt is for {}, the node sent is {expected}",
                receipt.node_id
            ),
        ));
    }
    trust
        .verify_append(r.created, receipt, expected, at)
        .map_err(|e| ClientError::verification(e.code(), &e))
}

/// `POST /v1/nodes` with one node: 201 (created) or 200 (already present), the receipt for
/// `expected`, verified at `at`.
fn check_append_response(
    status: u16,
    body: &[u8],
    expected: NodeId,
    trust: &TrustRoot,
    at: Timestamp,
) -> Result<Verified<AppendResult>, ClientError> {
    expect_status(status, body, &[200, 201])?;
    let r: AppendJson = parse_json(body, "append response")?;
    if r.created != (status == 201) {
        return Err(ClientError::Unexpected(format!(
            "HTTP {status} with \"created\": {}",
            r.created
        )));
    }
    verify_append(r, expected, trust, at)
}

/// `POST /v1/nodes` with a batch: one verified result per node sent, in order; 201 when any was
/// created, else 200.
fn check_batch_response(
    status: u16,
    body: &[u8],
    expected: &[NodeId],
    trust: &TrustRoot,
    at: Timestamp,
) -> Result<Vec<Verified<AppendResult>>, ClientError> {
    expect_status(status, body, &[200, 201])?;
    let b: BatchJson = parse_json(body, "batch append response")?;
    if b.results.len() != expected.len() {
        return Err(ClientError::Unexpected(format!(
            "{} results for {} nodes",
            b.results.len(),
            expected.len()
        )));
    }
    let any_created = b.results.iter().any(|r| r.created);
    if any_created != (status == 201) {
        return Err(ClientError::Unexpected(format!(
            "HTTP {status} with {} created",
            if any_created { "some" } else { "none" }
        )));
    }
    b.results
        .into_iter()
        .zip(expected)
        .map(|(r, id)| verify_append(r, *id, trust, at))
        .collect()
}

/// `GET /v1/nodes/{id}`: canonical bytes that hash to `id` (SPEC.md §3.1 rule 3).
fn check_node_response(status: u16, body: &[u8], id: NodeId) -> Result<Node, ClientError> {
    expect_status(status, body, &[200])?;
    Node::from_canonical_with_id(body, id).map_err(|e| ClientError::verification(e.code(), &e))
}

/// `GET /v1/nodes/{id}/proof[?size=N]`: a receipt for `id` that verifies, at size `size` if
/// asked (else `PROOF_MALFORMED`, SPEC.md §4.3 rule 1).
fn check_proof_response(
    status: u16,
    body: &[u8],
    id: NodeId,
    size: Option<TreeSize>,
    trust: &TrustRoot,
    at: Timestamp,
) -> Result<Verified<ReceiptEvidence>, ClientError> {
    expect_status(status, body, &[200])?;
    let receipt = Receipt::from_json(body).map_err(|e| ClientError::verification(e.code(), &e))?;
    if receipt.node_id != id {
        return Err(ClientError::verification(
            ErrorCode::NodeIdMismatch,
            format!("asked to prove {id}, got a receipt for {}", receipt.node_id),
        ));
    }
    let ev = trust
        .verify_receipt(&receipt, at)
        .map_err(|e| ClientError::verification(e.code(), &e))?;
    if let Some(n) = size
        && ev.head.size() != n
    {
        return Err(ClientError::verification(
            ErrorCode::ProofMalformed,
            format!(
                "asked for a proof at tree size {n}, got one at {}",
                ev.head.size()
            ),
        ));
    }
    Ok(ev)
}

/// `GET /v1/checkpoint`: a signed checkpoint that verifies against the trust root at `at`.
fn check_checkpoint_response(
    status: u16,
    body: &[u8],
    trust: &TrustRoot,
    at: Timestamp,
) -> Result<Verified<CheckpointEvidence>, ClientError> {
    expect_status(status, body, &[200])?;
    let cp = SignedCheckpoint::parse(body).map_err(|e| ClientError::verification(e.code(), &e))?;
    trust
        .verify_checkpoint(&cp, at)
        .map_err(|e| ClientError::verification(e.code(), &e))
}

/// `GET /v1/anchors`: the sequence numbers listed, strictly increasing. The rest of each
/// summary is the server's word and is not used: the envelopes are what is verified.
fn check_anchor_list(status: u16, body: &[u8]) -> Result<Vec<u64>, ClientError> {
    expect_status(status, body, &[200])?;
    let list: Vec<AnchorListEntry> = parse_json(body, "anchor list")?;
    let seqs: Vec<u64> = list.into_iter().map(|e| e.seq).collect();
    if seqs.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ClientError::Unexpected(
            "anchor list is not in increasing seq order".into(),
        ));
    }
    Ok(seqs)
}

/// An anchor envelope (parsed, not yet verified): with status `ok`, and the anchor asked for
/// when `seq` is given.
fn check_anchor_response(status: u16, body: &[u8], seq: Option<u64>, ok: u16) -> Result<Anchor, ClientError> {
    expect_status(status, body, &[ok])?;
    let a = Anchor::from_json(body).map_err(|e| ClientError::verification(e.code(), &e))?;
    if let Some(s) = seq
        && a.payload().seq != s
    {
        return Err(ClientError::Unexpected(format!(
            "asked for anchor {s}, got anchor {}",
            a.payload().seq
        )));
    }
    Ok(a)
}

#[cfg(test)]
mod tests;
