//! C2SP tlog-checkpoint bodies inside signed notes (SPEC.md §5.3).

use crate::code::ErrorCode;
use crate::hash::Digest;
use crate::limits::MAX_NAME_BYTES;
use crate::note::{NoteError, PublicKey, SecretKey, SignedNote};
use crate::proof::TreeHead;
use crate::tree::TreeSize;
use crate::verified::Verified;

/// A checkpoint body: origin, tree size, root hash, optional extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    head: TreeHead,
    extensions: Vec<String>,
}

/// Why a checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note around it.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The body is not a checkpoint.
    #[error("NOTE_MALFORMED: checkpoint body: {0}")]
    Body(&'static str),
    /// The origin is not the one expected.
    #[error("ORIGIN_MISMATCH: checkpoint origin is {found:?}, expected {expected:?}")]
    Origin {
        /// The trusted origin.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
}

impl CheckpointError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            CheckpointError::Note(e) => e.code(),
            CheckpointError::Body(_) => ErrorCode::NoteMalformed,
            CheckpointError::Origin { .. } => ErrorCode::OriginMismatch,
        }
    }
}

/// Whether `origin` is acceptable in a checkpoint body (SPEC.md §5.3 rule 1): non-empty, at most
/// [`MAX_NAME_BYTES`], no control characters. Checkpoints of other logs may use spaces (Go's
/// checksum database: `go.sum database tree`); an Evidence Ledger origin is also a key name and
/// must pass [`crate::note::is_valid_name`], which the trust root enforces (§8.1 rule 2).
pub fn is_valid_origin(origin: &str) -> bool {
    !origin.is_empty() && origin.len() <= MAX_NAME_BYTES && !origin.chars().any(char::is_control)
}

impl Checkpoint {
    /// Builds a checkpoint body.
    pub fn new(origin: &str, head: TreeHead) -> Result<Self, CheckpointError> {
        if !is_valid_origin(origin) {
            return Err(CheckpointError::Body("invalid origin"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            head,
            extensions: Vec::new(),
        })
    }

    /// Parses note text as a checkpoint body.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::Body("text must end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| is_valid_origin(o))
            .ok_or(CheckpointError::Body("bad origin line"))?;
        let size = lines.next().ok_or(CheckpointError::Body("missing tree size"))?;
        if size.is_empty()
            || size.len() > 19
            || !size.bytes().all(|c| c.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(CheckpointError::Body(
                "tree size must be a decimal number without leading zeros",
            ));
        }
        let size = size
            .parse::<u64>()
            .ok()
            .and_then(TreeSize::new)
            .ok_or(CheckpointError::Body("tree size too large"))?;
        let root = lines.next().ok_or(CheckpointError::Body("missing root hash"))?;
        let root = crate::b64::decode_standard(root)
            .and_then(|r| Digest::from_slice(&r))
            .ok_or(CheckpointError::Body(
                "root hash must be standard base64 of 32 bytes",
            ))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::Body("empty extension line"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            head: TreeHead::new(size, root),
            extensions,
        })
    }

    /// The note text.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.head.size(),
            self.head.root().to_base64()
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }
    /// The origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// The tree head.
    pub fn head(&self) -> TreeHead {
        self.head
    }
    /// Extension lines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }
    /// Signs the checkpoint into a note.
    pub fn sign(&self, key: &SecretKey) -> Result<SignedCheckpoint, CheckpointError> {
        let note = key.sign_note(&self.to_text())?;
        Ok(SignedCheckpoint {
            note,
            checkpoint: self.clone(),
        })
    }
}

/// A checkpoint in its signed note, parsed but not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    note: SignedNote,
    checkpoint: Checkpoint,
}

impl SignedCheckpoint {
    /// Parses note bytes whose text is a checkpoint.
    pub fn parse(bytes: &[u8]) -> Result<Self, CheckpointError> {
        let note = SignedNote::parse(bytes)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        Ok(Self { note, checkpoint })
    }
    /// The body (unverified).
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }
    /// The signed note.
    pub fn note(&self) -> &SignedNote {
        &self.note
    }
    /// The note bytes.
    pub fn to_text(&self) -> String {
        self.note.to_text()
    }
    /// Verifies the signature by `key` and that the origin is `key`'s log: the origin must equal
    /// the key name (SPEC.md §5.3).
    pub fn verify(&self, key: &PublicKey) -> Result<Verified<Checkpoint>, CheckpointError> {
        self.verify_with_origin(key, key.name())
    }
    /// Verifies the signature by `key` and that the origin is `origin`.
    pub fn verify_with_origin(
        &self,
        key: &PublicKey,
        origin: &str,
    ) -> Result<Verified<Checkpoint>, CheckpointError> {
        if self.checkpoint.origin != origin {
            return Err(CheckpointError::Origin {
                expected: origin.to_owned(),
                found: self.checkpoint.origin.clone(),
            });
        }
        self.note.verify(key)?;
        Ok(Verified::new(self.checkpoint.clone()))
    }
}
