//! Ledger errors, each with a stable code (SPEC.md §12 plus the ledger codes below).

use crate::store::StoreError;
use evl_sdk::ErrorCode;

/// What went wrong in the ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The store failed; nothing was acknowledged.
    #[error("{}: {}; nothing from this request was stored or acknowledged", .0.code(), .0)]
    Store(#[from] StoreError),
    /// A document was rejected (bad JSON, not a node).
    #[error("{0}")]
    Node(#[from] evl_sdk::NodeError),
    /// Document `index` of a batch was rejected; nothing of the batch was appended.
    #[error("document {index}: {error}; nothing of this batch was appended")]
    Rejected {
        /// Position in the batch (0-based).
        index: usize,
        /// Why.
        error: evl_sdk::NodeError,
    },
    /// A node id, index or size that the ledger does not hold.
    #[error("NOT_FOUND: {0}")]
    NotFound(String),
    /// A request outside what the log can answer (e.g. proof at a size beyond the tree).
    #[error("OUT_OF_RANGE: {0}")]
    OutOfRange(String),
    /// The store holds data that fails verification.
    #[error("{code}: {message}")]
    Integrity {
        /// The verification code.
        code: ErrorCode,
        /// Detail.
        message: String,
    },
    /// The store belongs to another log or an unknown format.
    #[error("STORE_MISMATCH: {0}")]
    Mismatch(String),
    /// The key file is missing or unreadable.
    #[error("KEY_FILE: {0}")]
    KeyFile(String),
    /// A VEX document could not be ingested (`NOT_VEX`, the JSON codes, `TOO_LARGE`, …).
    #[error(transparent)]
    Ingest(#[from] crate::vex::IngestError),
    /// A VEX policy, issuer registry, statement or consensus node was rejected
    /// (`VEX_INVALID`), or a consensus did not replay (`CONSENSUS_MISMATCH`).
    #[error(transparent)]
    Vex(#[from] evl_sdk::vex::VexError),
    /// Document `index` of a batch is a `score.manifest/v1` or `proof.bundle/v1` node that breaks
    /// its rules (`BUNDLE_INVALID`, a proof or envelope code; SPEC.md §15); nothing of the batch
    /// was appended.
    #[error("document {index}: {error}; nothing of this batch was appended")]
    Bundle {
        /// Position in the batch (0-based).
        index: usize,
        /// Why.
        error: evl_sdk::bundle::BundleError,
    },
    /// The clock disagrees with what the log already signed (the signing key's `not_before`, or
    /// the last anchor's time): nothing is signed until it is fixed (`CLOCK_SKEW`).
    #[error("CLOCK_SKEW: {0}")]
    ClockSkew(String),
    /// Reading or writing a file (a pack, a backup) failed.
    #[error("IO_ERROR: {0}")]
    Io(String),
    /// A pack or export did not verify or could not be read (SPEC.md §9).
    #[error(transparent)]
    Pack(#[from] evl_sdk::pack::PackError),
    /// The error of a group commit, handed to every appender whose nodes were in the group
    /// (the same typed error for all of them; [`LedgerError::code`] is the inner one's).
    #[error(transparent)]
    Group(std::sync::Arc<LedgerError>),
    /// An error that has a known next step for the operator. Displayed as the error alone:
    /// the library says what failed, the CLI renders [`Next`] as the command to run, and the
    /// HTTP API sends only the code and the message.
    #[error("{error}")]
    Advised {
        /// What failed.
        error: Box<LedgerError>,
        /// What an operator can do about it.
        next: Next,
    },
}

/// The operator's next step after an error (rendered as `evl` commands by the CLI only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Next {
    /// The store has not been initialized.
    Init,
    /// Find out what is damaged: a full verify lists every finding.
    VerifyFull,
    /// Stored hashes are damaged, not content: recovery rebuilds them without a backup.
    RecoverHashes,
    /// The content of `leaf` is lost: put it back from a backup, or record the loss.
    RestoreContent {
        /// The leaf whose content is lost.
        leaf: u64,
    },
    /// Content whose loss is recorded: a backup can put it back.
    RecoverContent,
    /// The chain cannot be continued: investigate, then start a new segment.
    NewChain,
    /// Nothing is anchored that far yet: sign an anchor first.
    AnchorCreate,
    /// Larger than an evidence pack may be: make a compliance export instead.
    Export,
    /// A recovery needs the leaf that a full verify reports.
    GiveIndex,
}

impl LedgerError {
    /// Attaches the operator's next step.
    pub fn advise(self, next: Next) -> Self {
        LedgerError::Advised {
            error: Box::new(self),
            next,
        }
    }

    /// The operator's next step, if one is known (looking through [`LedgerError::Group`]).
    pub fn next(&self) -> Option<Next> {
        match self {
            LedgerError::Group(e) => e.next(),
            LedgerError::Advised { next, .. } => Some(*next),
            _ => None,
        }
    }
}

impl From<evl_sdk::tree::ProveError<StoreError>> for LedgerError {
    /// The one conversion of proof-generation errors: a store failure stays a store failure,
    /// a position outside the tree is `OUT_OF_RANGE`.
    fn from(e: evl_sdk::tree::ProveError<StoreError>) -> Self {
        match e {
            evl_sdk::tree::ProveError::Source(s) => LedgerError::Store(s),
            evl_sdk::tree::ProveError::OutOfRange(m) => LedgerError::OutOfRange(m.into()),
        }
    }
}

impl LedgerError {
    /// The stable code string.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Store(e) => e.code(),
            LedgerError::Node(e) | LedgerError::Rejected { error: e, .. } => e.code().as_str(),
            LedgerError::NotFound(_) => "NOT_FOUND",
            LedgerError::OutOfRange(_) => "OUT_OF_RANGE",
            LedgerError::Integrity { code, .. } => code.as_str(),
            LedgerError::Mismatch(_) => "STORE_MISMATCH",
            LedgerError::KeyFile(_) => "KEY_FILE",
            LedgerError::Ingest(e) => e.code(),
            LedgerError::Vex(e) => e.code().as_str(),
            LedgerError::Bundle { error, .. } => error.code().as_str(),
            LedgerError::Io(_) => "IO_ERROR",
            LedgerError::ClockSkew(_) => "CLOCK_SKEW",
            LedgerError::Pack(e) => e.code().as_str(),
            LedgerError::Group(e) => e.code(),
            LedgerError::Advised { error, .. } => error.code(),
        }
    }

    /// The error itself, looking through [`LedgerError::Group`] and [`LedgerError::Advised`].
    pub fn kind(&self) -> &LedgerError {
        match self {
            LedgerError::Group(e) => e.kind(),
            LedgerError::Advised { error, .. } => error.kind(),
            e => e,
        }
    }
}
