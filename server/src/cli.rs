//! Command-line arguments. `evl --help` and `evl <command> --help` are generated from these
//! doc comments; keep them true.

use clap::{Args, Parser, Subcommand, ValueEnum};
use evl_ledger::store::StoreFormat;
use std::path::PathBuf;

/// Evidence Ledger: an append-only, content-addressed Merkle log for supply-chain evidence.
///
/// Every node is canonical JSON (RFC 8785) addressed by its SHA-256; the log is an RFC 6962
/// Merkle tree with signed C2SP checkpoints and a chain of signed DSSE anchors. Anyone can
/// verify what this tool prints with the evl-sdk, offline.
#[derive(Parser, Debug)]
#[command(name = "evl", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Data directory holding the store, the signing key and the trust root.
    #[arg(long, global = true, env = "EVL_DATA", default_value = "./evl-data")]
    pub data: PathBuf,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// `--output table|json`: a format, on every command that prints. A file to write is always
/// `-o/--out FILE`.
#[derive(Args, Debug, Clone, Copy)]
pub struct Out {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

/// What `evl docs` prints.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DocsKind {
    /// docs/cli.md.
    Cli,
    /// The route table of docs/http-api.md.
    Routes,
}

/// Output formats.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Table,
    /// One JSON document on stdout.
    Json,
}

/// Commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new ledger in the data directory: store, Ed25519 signing key (PKCS#8 PEM, mode
    /// 0600) and the trust root verifiers need.
    Init {
        /// The log's origin: its unique name, also the signing key's name (no spaces or '+').
        #[arg(long, default_value = "evl.local/ledger")]
        origin: String,
        /// The store format: 2 (`evl-store/2`: segments, hash tiles and id runs, whose append
        /// cost does not grow with the log; docs/design.md, "Storage v2") or 1 (`evl-store/1`,
        /// one B-tree row per node, id-map entry and stored hash, the format before v2).
        /// `evl migrate` converts an existing store either way.
        #[arg(long, default_value = "2", value_parser = parse_store_format)]
        store_format: StoreFormat,
        #[command(flatten)]
        out: Out,
    },
    /// Append JSON nodes from files (one JSON document, or JSON Lines) or '-' for stdin.
    /// JSON Lines are read batch by batch as they are appended, so memory stays flat for any
    /// file size. Prints one receipt per node; a node already in the log returns its existing
    /// receipt.
    /// Anchors automatically when the last anchor is over 6 hours old and the tree grew.
    Append {
        /// Files to read; '-' reads stdin.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Nodes per commit.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Store each whole file as one `blob/v1` node with this media type, keeping its exact
        /// text (e.g. `--as-blob application/json` for raw VEX documents that are not nodes).
        #[arg(long, value_name = "MEDIA_TYPE")]
        as_blob: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// Print a node's canonical bytes.
    ///
    /// Fails with CORRUPTED (naming the corruption/v1 node) if the stored content is damaged and
    /// recorded by `evl mark-corrupted`, and with NODE_ID_MISMATCH if it is damaged and not
    /// recorded: content that does not hash to its NodeId is never printed.
    Get {
        /// The NodeId (sha256:<64 hex>).
        node_id: String,
        /// Answer as the log stood at anchor SEQ: NOT_FOUND if the node was appended after it.
        /// The anchor must verify on its own and match this store's tree.
        #[arg(long, value_name = "SEQ")]
        as_of_anchor: Option<u64>,
        #[command(flatten)]
        out: Out,
    },
    /// Print a receipt for a node: inclusion proof and signed checkpoint.
    Prove {
        /// The NodeId (sha256:<64 hex>).
        node_id: String,
        /// Prove at this tree size (needs a signed checkpoint at that size); default: latest.
        #[arg(long, conflicts_with = "as_of_anchor")]
        size: Option<u64>,
        /// Prove as the log stood at anchor SEQ: the inclusion proof at that anchor's tree size
        /// with the checkpoint the anchor signed; NOT_FOUND if the node was appended after it.
        #[arg(long, value_name = "SEQ")]
        as_of_anchor: Option<u64>,
        #[command(flatten)]
        out: Out,
    },
    /// Print the latest signed checkpoint (a C2SP signed note).
    Checkpoint {
        #[command(flatten)]
        out: Out,
    },
    /// Print a consistency proof between two tree sizes.
    Consistency {
        /// The older size (≥ 1).
        #[arg(long)]
        from: u64,
        /// The newer size (≤ the current tree size).
        #[arg(long)]
        to: u64,
        #[command(flatten)]
        out: Out,
    },
    /// Create, list, inspect, verify and export anchors.
    #[command(subcommand)]
    Anchor(AnchorCommand),
    /// Ingest VEX documents, compute and record consensus, replay a recorded consensus.
    #[command(subcommand)]
    Vex(VexCommand),
    /// Build and verify score manifests and signed proof bundles (`score.manifest/v1`,
    /// `proof.bundle/v1`; SPEC.md §15).
    #[command(subcommand)]
    Proof(ProofCommand),
    /// Check the store's integrity: nodes, stored hashes, the latest and every anchored
    /// checkpoint, and the anchor chain.
    /// Exits non-zero if anything fails, listing each failure with its leaf index and code.
    Verify(VerifyArgs),
    /// Show tree size, last anchor and its age, and store size.
    Status {
        #[command(flatten)]
        out: Out,
    },
    /// Serve the HTTP API. Initializes the data directory first if it holds no ledger
    /// (printing the public key and where the trust root and admin token are).
    /// Configuration: DATA/evl.toml or --config, then EVL_ environment overrides
    /// (e.g. EVL_SERVER__LISTEN=127.0.0.1:7400); see docs/http-api.md.
    Serve {
        /// Address to listen on (overrides server.listen).
        #[arg(long)]
        listen: Option<String>,
        /// Configuration file (default: DATA/evl.toml if it exists).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Origin for a new ledger (used only when initializing).
        #[arg(long, default_value = "evl.local/ledger")]
        origin: String,
    },
    /// Print generated reference documentation: `cli` (every command's --help, as
    /// docs/cli.md) or `routes` (the route table of docs/http-api.md, from the OpenAPI
    /// document). A test fails when the committed files differ.
    #[command(hide = true)]
    Docs {
        /// What to print.
        #[arg(value_enum)]
        what: DocsKind,
    },
    /// Measure append, proof and verify throughput against physical references, on a
    /// temporary store (prints ratios; see docs/benchmarks.md).
    Bench(BenchArgs),
    /// Write an evidence pack (--node) or a compliance export (--from-anchor/--to-anchor) as a
    /// signed, byte-deterministic `.tar.zst` that verifies offline (SPEC.md §9).
    ///
    /// Evidence pack: the nodes, optionally every node they link to (--include-deps), their
    /// inclusion proofs at one anchor (one multi-leaf proof when smaller), a C2SP tlog-proof per
    /// node, the anchor chain back to --trust-point, and the trust root.
    ///
    /// Compliance export: every node appended between two anchors (optionally only --type T),
    /// the anchors and consistency proofs between them, and the leaf listing that proves no
    /// node of the range was left out. Streams in flat memory, with a progress bar on a
    /// terminal. --since-export PREV continues a previous export (a delta).
    Export(ExportArgs),
    /// Verify an evidence pack, export or backup offline, with zero network: prints what was
    /// proven (each node in the log at size N under anchor A, signed by key K valid at time T) or
    /// the stable error code. Exits 0 when it verifies, 1 when it does not, 2 on usage errors.
    ///
    /// Without --trust-root the pack's own trust root is used: that proves the pack is
    /// internally consistent, not that it comes from the log you mean.
    VerifyPack(VerifyPackArgs),
    /// Write a backup of the ledger: one consistent snapshot of the store (appends may
    /// continue) as a signed `.tar.zst` pack of kind `backup` that verifies offline with
    /// `evl verify-pack` (SPEC.md §9.9).
    ///
    /// It holds every stored anchor and signed checkpoint, every leaf and node up to the
    /// snapshot's tree size (from the first leaf, or with --since-anchor from an anchor's tree:
    /// an incremental backup), and the trust root. Never the signing key or the admin token.
    /// Needs the signing key (the manifest is signed) and the store, so it runs on a data
    /// directory that `evl serve` does not hold; a running server backs up through
    /// `GET /v1/backup`. Written to a temporary file and renamed, so the output is either absent
    /// or a complete backup.
    Backup(BackupArgs),
    /// Restore backups into a NEW data directory (refused if --target exists and is not an
    /// empty directory): a full backup, then incremental ones in order. Every file is verified
    /// while it is loaded (container, manifest signature, every NodeId, the leaves folded to the
    /// signed end checkpoint, every anchor's signature, chain and root against the restored
    /// tree, every checkpoint's signature and root), and the restored store is checked again
    /// before it is moved into place.
    ///
    /// Loads into a temporary directory next to the target and renames it at the very end: on
    /// any failure nothing is left and the exit code is 1 with a stable code; a restore that was
    /// killed leaves a `.evl-restore-*` directory that the next restore removes. Writes
    /// `ledger.redb` and `trust-root.json`; the signing key and the admin token are not in a
    /// backup and must be put back from where they are kept. --to-anchor SEQ restores the
    /// ledger as it stood at that anchor (point-in-time recovery) and reports what was left out.
    Restore(RestoreArgs),
    /// Convert the data directory's store to another format (default 2, `evl-store/2`;
    /// docs/design.md, "Storage v2"), verifying as it goes, and swap only when the copy
    /// verifies.
    ///
    /// A full backup of the store streams (in memory) into a restore in a temporary directory
    /// inside --data, checked exactly as `evl restore` checks a backup (every NodeId, the
    /// leaves against the signed checkpoint, every anchor and checkpoint signature); the new
    /// store is then verified in full and compared with the old one (tree size, every signed
    /// checkpoint and anchor, byte for byte). Only then the old file is kept as
    /// `ledger.evl-store-N.redb` (a hard link) and the new one renamed over `ledger.redb`, so
    /// `ledger.redb` is always one complete store. Receipts and proofs are byte-identical
    /// afterwards. Needs the signing key (the in-memory backup is signed) and free space for a
    /// second copy; stop `evl serve` first. A store already in the target format is left as
    /// it is.
    ///
    /// With --to-postgres URL or --to-redb FILE it copies the ledger, from whichever store it
    /// is in now, into a new store of the other kind, verified the same way (the backup →
    /// restore → full verify → compare), and changes nothing else: the source stays as it was,
    /// the target must be empty (TARGET_NOT_EMPTY otherwise), and the output says how to switch
    /// to the copy. A copy that fails removes what it wrote of the target.
    Migrate(MigrateArgs),
    /// Record that a node's stored content is damaged (as `evl verify --mode full` reports:
    /// "FAIL NODE_ID_MISMATCH leaf I"): appends a `corruption/v1` node naming the damaged entry,
    /// so the loss is visible to everyone and proofs for other entries keep working. Reads of the
    /// node then fail with CORRUPTED (naming the record), and `evl verify` reports the leaf as
    /// recorded instead of failing.
    ///
    /// Refused when the content is intact (NOT_FOUND), when the stored leaf hash rather than the
    /// content is damaged, or when damaged stored hashes would make the append sign a wrong root
    /// (MERKLE_MISMATCH: run `evl recover` first, it needs no backup for hashes). Marking an
    /// entry already recorded appends nothing. Needs the signing key; stop `evl serve` first.
    MarkCorrupted(MarkCorruptedArgs),
    /// Repair what `evl verify --mode full` finds: node content from a backup or export file
    /// made before the damage, stored hashes recomputed from the leaves, id-map entries from the
    /// intact content. Then runs a full verify again and exits 0 only if it passes.
    ///
    /// Backup bytes are used only if their SHA-256 is the NodeId whose leaf hash is the one the
    /// tree commits to at that leaf, and the repaired tree must reproduce every signed
    /// checkpoint and anchor root before anything is written; otherwise nothing changes
    /// (NODE_ID_MISMATCH: the backup holds another entry there; PACK_INCOMPLETE: it does not hold
    /// the leaf; MERKLE_MISMATCH: the result would not match the signed roots). Content damage
    /// that is not recorded needs --from-backup; damage recorded by `evl mark-corrupted` that the
    /// backup lacks stays recorded. Writes the final report to DATA/last-verify.json. Stop `evl
    /// serve` first.
    ///
    /// On redb the repair is made on a copy of the file, swapped in only if the full verify of
    /// the copy passes. On PostgreSQL (`[store] url`) it is made in place, in one transaction
    /// that writes only values the signed roots prove.
    Recover(RecoverArgs),
    /// Write one support archive (.tar.zst) with status (tree size, last anchor and its age,
    /// store size, versions), store statistics, the last 20 anchors and the chain's state, the
    /// last verify report (DATA/last-verify.json), recent errors (its failures, and the tail of
    /// --log-file), and the configuration with every token replaced by "<redacted>".
    ///
    /// Never included: the signing key, the admin token, token values. Every entry is also
    /// scrubbed of those strings. Works while the store is locked by `evl serve` (the store's
    /// parts are then replaced by the error).
    Diagnostics(DiagnosticsArgs),
    /// Apply the retention policy ([retention] in DATA/evl.toml or --config): delete the content
    /// of every anchored node whose type has a rule and whose first anchor is at least the rule's
    /// max_age_days old, except nodes on legal hold. Each deletion is recorded by a
    /// `redaction/v1` node appended in the same commit, then anchored; every leaf, root and proof
    /// stays valid (`evl prove` still works). Then rebuilds the store file so the deleted bytes
    /// are gone from it and the file shrinks, and prints the sizes before and after.
    ///
    /// Refuses to redact unless --archive FILE (an archive from `evl archive` that verifies
    /// against this ledger and holds every candidate) or --no-archive is given. --dry-run lists
    /// the candidates and changes nothing. Needs the signing key; stop `evl serve` first.
    Cleanup(CleanupArgs),
    /// Write what retention would remove to an archive that verifies offline: a compliance
    /// export (`evl verify-pack`) of every node of the retention rules' types up to the last
    /// anchor at least --older-than days old, with the listing that proves none was left out.
    /// Run it before `evl cleanup --apply-retention --archive FILE`.
    Archive(ArchiveArgs),
}

/// `evl cleanup` options.
#[derive(Args, Debug)]
pub struct CleanupArgs {
    /// Apply the [retention] rules (required: the one cleanup there is).
    #[arg(long, required = true)]
    pub apply_retention: bool,
    /// List what would be redacted; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The archive (from `evl archive`) holding every node to redact; verified first.
    #[arg(long, value_name = "FILE", required_unless_present_any = ["dry_run", "no_archive"])]
    pub archive: Option<PathBuf>,
    /// Redact without an archive: the content is then gone for good.
    #[arg(long, conflicts_with = "archive")]
    pub no_archive: bool,
    /// The configuration file (default: DATA/evl.toml if it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub out: Out,
}

/// `evl archive` options.
#[derive(Args, Debug)]
pub struct ArchiveArgs {
    /// Archive nodes whose first anchor is at least this many days old (use the smallest
    /// max_age_days of the rules to hold everything retention would redact now).
    #[arg(long, value_name = "DAYS")]
    pub older_than: u64,
    /// The file to write (.tar.zst; written to a temporary file and renamed).
    #[arg(long = "out", short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// The configuration file (default: DATA/evl.toml if it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `evl mark-corrupted` options.
#[derive(Args, Debug)]
pub struct MarkCorruptedArgs {
    /// The damaged leaf (as `evl verify --mode full` reports it).
    #[arg(long, value_name = "I", required_unless_present = "node")]
    pub index: Option<u64>,
    /// The damaged node's NodeId (needed when the id map does not hold it; with --index, it must
    /// be the entry the tree commits to at that leaf).
    #[arg(long, value_name = "NODE_ID")]
    pub node: Option<String>,
    /// Why (stored in the record, at most 1024 bytes).
    #[arg(long)]
    pub reason: String,
    #[command(flatten)]
    pub out: Out,
}

/// `evl recover` options.
#[derive(Args, Debug)]
pub struct RecoverArgs {
    /// A backup (`evl backup`) or unfiltered export (`evl export`) of this log, made before the
    /// damage; needed only to put back node content.
    #[arg(long, value_name = "FILE")]
    pub from_backup: Option<PathBuf>,
    #[command(flatten)]
    pub out: Out,
}

/// `evl diagnostics` options.
#[derive(Args, Debug)]
pub struct DiagnosticsArgs {
    /// The archive to write (.tar.zst; written to a temporary file and renamed, mode 0600).
    #[arg(long = "out", short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// A server log file to include the last 1 MiB of (`evl serve` logs to stderr; point this at
    /// where you redirect it).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// The `evl serve` configuration file (default: DATA/evl.toml if it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `evl export` options.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Evidence pack of this node (repeat for several).
    #[arg(long = "node", value_name = "NODE_ID", conflicts_with_all = ["from_anchor", "since_export", "types"])]
    pub nodes: Vec<String>,
    /// Evidence pack: also every node the nodes link to, transitively.
    #[arg(long, requires = "nodes")]
    pub include_deps: bool,
    /// Evidence pack: prove inclusion at this anchor (default: the latest).
    #[arg(long, value_name = "SEQ", requires = "nodes")]
    pub anchor: Option<u64>,
    /// Evidence pack: carry the anchor chain back to this anchor (default: the proving anchor
    /// alone), with the consistency proofs between them.
    #[arg(long, value_name = "SEQ", requires = "nodes")]
    pub trust_point: Option<u64>,
    /// Export: start after this anchor's tree (default: from the first leaf).
    #[arg(long, value_name = "SEQ", conflicts_with = "since_export")]
    pub from_anchor: Option<u64>,
    /// Export: end at this anchor's tree (default: the latest anchor).
    #[arg(long, value_name = "SEQ")]
    pub to_anchor: Option<u64>,
    /// Export: only nodes of this type (repeat for several); every other leaf is listed with
    /// its type, so the export still proves completeness.
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Export: continue the export in file PREV (verified first): start at its end anchor and
    /// record its PackId.
    #[arg(long, value_name = "PREV")]
    pub since_export: Option<PathBuf>,
    /// The file to write ('-' for stdout). Written to a temporary file and renamed, so a
    /// failed export leaves nothing behind.
    #[arg(long = "out", short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `evl verify-pack` options.
#[derive(Args, Debug)]
pub struct VerifyPackArgs {
    /// The pack file (`.tar.zst`).
    pub file: PathBuf,
    /// Trust root file (`trust-root.json`) naming the log and its keys. Strongly recommended.
    #[arg(long, value_name = "FILE")]
    pub trust_root: Option<PathBuf>,
    /// For a delta export: the export it continues; checks that this one starts at PREV's end
    /// anchor and names PREV's PackId.
    #[arg(long, value_name = "PREV")]
    pub prev: Option<PathBuf>,
    #[command(flatten)]
    pub out: Out,
}

/// `evl backup` options.
#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The file to write ('-' for stdout). Written to a temporary file and renamed, so a
    /// failed or killed backup leaves nothing behind.
    #[arg(long = "out", short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// Incremental backup: start at this anchor's tree size (the backup carries the leaves
    /// after it, and the frontier that ties them to the anchor's root). Default: a full backup.
    #[arg(long, value_name = "SEQ")]
    pub since_anchor: Option<u64>,
    /// Incremental backup continuing the backup in file BASE (verified against this ledger
    /// first): records its PackId, which a restore checks, and, without --since-anchor, starts
    /// at the last anchor BASE holds.
    #[arg(long, value_name = "BASE")]
    pub base: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `evl restore` options.
#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// A backup file: first a full backup, then incremental ones in the order they were taken
    /// (repeat: --backup FULL --backup INC1 --backup INC2).
    #[arg(long = "backup", value_name = "FILE", required = true)]
    pub backups: Vec<PathBuf>,
    /// The data directory to create (must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub target: PathBuf,
    /// Point-in-time recovery: restore the ledger as it stood at this anchor (its tree size,
    /// its checkpoints and the anchors up to it).
    #[arg(long, value_name = "SEQ")]
    pub to_anchor: Option<u64>,
    /// Trust root file naming the log and its keys: every backup must verify against it, and
    /// carry the same trust root. Strongly recommended; without it a backup is only shown to be
    /// consistent with the trust root it carries.
    #[arg(long, value_name = "FILE")]
    pub trust_root: Option<PathBuf>,
    /// The format of the restored store: 2 (`evl-store/2`, what `evl init` writes) or 1
    /// (`evl-store/1`). A backup is the same whatever format it was taken from.
    #[arg(long, default_value = "2", value_parser = parse_store_format)]
    pub store_format: StoreFormat,
    /// Restore into this PostgreSQL database instead of a redb file (a `postgres://…` URL or
    /// `key=value` string without a password; the log must not exist there yet). The new data
    /// directory gets an `evl.toml` whose `[store]` section names it.
    #[arg(long, value_name = "URL")]
    pub to_postgres: Option<String>,
    /// The database's password: the first line of this file (its path goes into `evl.toml`,
    /// the password never does).
    #[arg(long, value_name = "FILE", requires = "to_postgres")]
    pub password_file: Option<PathBuf>,
    /// The log's id in the database.
    #[arg(long, default_value_t = 1, requires = "to_postgres")]
    pub log_id: i32,
    #[command(flatten)]
    pub out: Out,
}

/// `evl migrate` options.
#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The format to convert to: 1 or 2.
    #[arg(long, default_value = "2", value_parser = parse_store_format)]
    pub to_format: StoreFormat,
    /// Copy the ledger into this PostgreSQL database (a `postgres://…` URL or `key=value`
    /// connection string; the log named by --log-id must not exist there yet).
    #[arg(long, value_name = "URL", conflicts_with = "to_redb")]
    pub to_postgres: Option<String>,
    /// Copy the ledger into this new redb file (`evl-store/2`; it must not exist).
    #[arg(long, value_name = "FILE")]
    pub to_redb: Option<PathBuf>,
    /// The target database's password: the first line of this file (never printed).
    #[arg(long, value_name = "FILE", requires = "to_postgres")]
    pub password_file: Option<PathBuf>,
    /// The target log's id in the database.
    #[arg(long, default_value_t = 1, requires = "to_postgres")]
    pub log_id: i32,
    #[command(flatten)]
    pub out: Out,
}

/// Anchor subcommands.
#[derive(Subcommand, Debug)]
pub enum AnchorCommand {
    /// Anchor the current tree: a signed DSSE envelope chained to the previous anchor.
    Create {
        #[command(flatten)]
        out: Out,
    },
    /// List anchors.
    List {
        #[command(flatten)]
        out: Out,
    },
    /// Print one anchor's envelope and payload.
    Inspect {
        /// Sequence number.
        seq: u64,
        #[command(flatten)]
        out: Out,
    },
    /// Verify the anchor chain (signatures, links, consistency proofs).
    Verify {
        /// Show only the latest anchor (the whole chain is still verified).
        #[arg(long, conflicts_with = "all")]
        latest: bool,
        /// The whole chain (the default).
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        out: Out,
    },
    /// Write an anchor envelope to a file.
    Export {
        /// The latest anchor.
        #[arg(long, required = true)]
        latest: bool,
        /// Output file.
        #[arg(long = "out", short = 'o', value_name = "FILE")]
        output: PathBuf,
    },
    /// Start a new chain segment after a break, recording why.
    NewChain {
        /// Why the old segment ended (stored in the signed anchor).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        out: Out,
    },
}

/// VEX subcommands (SPEC.md §14, docs/vex-ingest.md).
#[derive(Subcommand, Debug)]
pub enum VexCommand {
    /// Ingest OpenVEX, CSAF 2.0 or CycloneDX VEX documents: store each raw document as a
    /// `blob/v1` node and one `vex.statement/v1` node per vulnerability × product, in one commit
    /// per file. Prints the receipts and the document findings. A mirrored copy of a document
    /// stores nothing new. A file that is not VEX is an error (earlier files stay stored).
    Ingest {
        /// VEX documents; '-' reads stdin.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        out: Out,
    },
    /// Compute the consensus (vex-consensus/1) for one vulnerability × product over the
    /// statements in the log at the latest checkpoint, and append it as a `vex.consensus/v1`
    /// node. Without --policy: the default policy and the empty issuer registry (appended if the
    /// log lacks them).
    Consensus {
        /// Canonical vulnerability id (the statements' `vuln_id`), e.g. CVE-2023-38545.
        #[arg(long)]
        vuln: String,
        /// Canonical product key (the statements' `product_key`), e.g. a purl.
        #[arg(long)]
        product: String,
        /// Narrow the key to one subcomponent key.
        #[arg(long)]
        subcomponent: Option<String>,
        /// HighestWeight, WeightedVote, Lattice or AuthoritativeFirst (default: the policy's).
        #[arg(long, value_parser = parse_mode)]
        mode: Option<evl_sdk::vex::Mode>,
        /// RFC 3339 time freshness is measured at (fraction dropped); default: now.
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        /// NodeId of a `vex.policy/v1` node in the log (its `issuers` registry must be there too).
        #[arg(long, value_name = "NODE_ID")]
        policy: Option<String>,
        #[command(flatten)]
        out: Out,
    },
    /// Replay a recorded consensus: load the node, its statements, policy and issuer registry
    /// from the store, recompute with evl_sdk::vex::replay and compare bytes; check that its
    /// checkpoint is this log's tree and holds every statement. Exits 1 with CONSENSUS_MISMATCH
    /// and the JSON Pointer of the first differing field if it does not replay.
    Replay {
        /// The consensus node's NodeId (sha256:<64 hex>).
        node_id: String,
        #[command(flatten)]
        out: Out,
    },
}

/// `--mode`: a consensus mode by its wire name (case-insensitive).
fn parse_mode(s: &str) -> Result<evl_sdk::vex::Mode, String> {
    evl_sdk::vex::Mode::ALL
        .iter()
        .copied()
        .find(|m| m.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| "expected HighestWeight, WeightedVote, Lattice or AuthoritativeFirst".to_owned())
}

/// Verification options.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// quick: 1 node in --stride re-hashed, the top tree levels, the checkpoints and anchors;
    /// full: every node re-canonicalized and re-hashed, every stored hash recomputed.
    #[arg(long, value_enum, default_value_t = VerifyMode::Quick)]
    pub mode: VerifyMode,
    /// In quick mode, check one node in this many (1/64 ≈ 1.6 % by default).
    #[arg(long, default_value_t = 64)]
    pub stride: u64,
    #[command(flatten)]
    pub out: Out,
}

/// Verification modes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum VerifyMode {
    /// Sampled.
    Quick,
    /// Everything.
    Full,
}

/// Benchmark options.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    /// Benchmark the HTTP API instead (load test).
    #[command(subcommand)]
    pub kind: Option<BenchKind>,
    /// Number of 1 KB nodes.
    #[arg(long, default_value_t = 200_000)]
    pub nodes: u64,
    /// Nodes per append call.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Concurrent appending threads.
    #[arg(long, default_value_t = 4)]
    pub threads: usize,
    /// Proofs to time.
    #[arg(long, default_value_t = 20_000)]
    pub proofs: usize,
    /// Directory for the temporary store (default: the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Store format of the temporary store: 1 (`evl-store/1`) or 2 (`evl-store/2`: segments,
    /// hash tiles and id runs, what `evl init` writes; docs/design.md, "Storage v2").
    #[arg(long, default_value = "2", value_parser = parse_store_format)]
    pub store_format: StoreFormat,
    #[command(flatten)]
    pub out: Out,
}

/// Other benchmarks.
#[derive(Subcommand, Debug)]
pub enum BenchKind {
    /// Load-test the HTTP API on loopback: batched appends, single appends with receipts, and
    /// proof fetches, each by --clients concurrent clients for --seconds. Starts its own server
    /// on a temporary store unless --url is given.
    Http(HttpBenchArgs),
}

/// HTTP load test options.
#[derive(Args, Debug)]
pub struct HttpBenchArgs {
    /// Base URL of a running server (loopback only); default: start one in-process. Repeat
    /// for several front ends of one log: the clients are spread over them in turn.
    #[arg(long)]
    pub url: Vec<String>,
    /// File holding a token with the append scope (for --url).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Seconds per phase.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Nodes per batched append.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// One mixed phase instead of three: each request is a proof fetch (70 %), a single append
    /// (25 %) or a batch append (5 %), and an anchor is requested every 10 s (soak testing).
    #[arg(long)]
    pub mix: bool,
    #[command(flatten)]
    pub out: Out,
}

/// `evl proof` subcommands: score manifests and proof bundles (SPEC.md §15).
#[derive(Subcommand, Debug)]
pub enum ProofCommand {
    /// Build a `score.manifest/v1` node: the inputs of a computation by SHA-256 digest, in
    /// leaf order, and the Merkle root over them. Leaf order is the --input values in order,
    /// then the --input-file values in order. Prints the canonical node (or writes it with
    /// --output).
    Manifest {
        /// An input by digest: NAME=KIND:sha256:HEX (repeat for several).
        #[arg(long = "input", value_name = "NAME=KIND:sha256:HEX")]
        inputs: Vec<String>,
        /// An input by file: NAME=KIND:PATH; the digest is the SHA-256 of the file's bytes
        /// (repeat for several).
        #[arg(long = "input-file", value_name = "NAME=KIND:PATH")]
        input_files: Vec<String>,
        /// When the inputs were frozen (RFC 3339; stored as YYYY-MM-DDTHH:MM:SSZ).
        #[arg(long, value_name = "TIME")]
        freeze_time: Option<String>,
        /// Write the canonical node to this file instead of stdout.
        #[arg(long = "out", short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Also append the manifest to the ledger.
        #[arg(long)]
        append: bool,
    },
    /// Build a `proof.bundle/v1` node: the manifest, the result, an inclusion proof per input
    /// and a DSSE attestation signed with the data directory's signing key. Checks it against
    /// the ledger's trust root before writing. Prints the canonical node (or writes it with
    /// --output).
    Bundle {
        /// The `score.manifest/v1` node (JSON file).
        #[arg(long, value_name = "FILE")]
        manifest: PathBuf,
        /// The result: a JSON object {"kind": "...", "value": ...} (plus "node": NodeId,
        /// required for kind "vex.consensus").
        #[arg(long, value_name = "FILE")]
        result: PathBuf,
        /// The statement's time, at which the signing key must be valid (RFC 3339); default: now.
        #[arg(long, value_name = "TIME")]
        time: Option<String>,
        /// Write the canonical node to this file instead of stdout.
        #[arg(long = "out", short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// Also append the bundle to the ledger.
        #[arg(long)]
        append: bool,
    },
    /// Verify a proof bundle offline: schema, every input proof against the manifest root, the
    /// statement, and the signature by a trusted key valid at the statement's time. Prints what
    /// was proven or the stable error code; exits 1 if it does not verify.
    Verify {
        /// The bundle (JSON file; '-' reads stdin).
        #[arg(long, value_name = "FILE")]
        bundle: PathBuf,
        /// Trust root file (default: the trust root recorded in the data directory's store).
        #[arg(long, value_name = "FILE")]
        trust_root: Option<PathBuf>,
        #[command(flatten)]
        out: Out,
    },
}

/// `--store-format`: a format number this build writes (1 or 2).
pub fn parse_store_format(s: &str) -> Result<StoreFormat, String> {
    s.parse::<u8>()
        .ok()
        .and_then(StoreFormat::from_number)
        .ok_or_else(|| format!("{s:?} is not a store format this build writes (1 or 2)"))
}
