//! C2SP signed notes with Ed25519 signatures, and the keys that sign them (SPEC.md §5).
//!
//! A note is `text` (UTF-8, ends in `\n`), a blank line, then signature lines
//! `— <name> <base64(key ID ‖ signature)>\n`. Ed25519 key ID = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4].

use crate::b64;
use crate::code::ErrorCode;
use crate::hash::sha256;
use crate::limits::{MAX_NAME_BYTES, MAX_NOTE_BYTES, MAX_NOTE_SIGNATURES};
use crate::verified::Verified;
use core::fmt;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

/// The C2SP signed-note algorithm byte for Ed25519.
pub const ALG_ED25519: u8 = 0x01;

const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note, key or signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note's framing is wrong.
    #[error("NOTE_MALFORMED: {0}")]
    Malformed(&'static str),
    /// A vkey / key string is wrong.
    #[error("KEY_MALFORMED: {0}")]
    KeyMalformed(&'static str),
    /// The note has no signature from the expected key.
    #[error("KEY_UNKNOWN: the note carries no signature by a trusted key")]
    KeyUnknown,
    /// A signature line claims the trusted key but does not verify.
    #[error("SIGNATURE_INVALID: signature by {0} does not verify")]
    SignatureInvalid(String),
}

impl NoteError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            NoteError::Malformed(_) => ErrorCode::NoteMalformed,
            NoteError::KeyMalformed(_) => ErrorCode::KeyMalformed,
            NoteError::KeyUnknown => ErrorCode::KeyUnknown,
            NoteError::SignatureInvalid(_) => ErrorCode::SignatureInvalid,
        }
    }
}

/// A key name: non-empty, ≤ [`MAX_NAME_BYTES`], no whitespace, no `+` (C2SP signed-note;
/// SPEC.md §5.1 rule 3). Also the rule for trust-root origins (§8.1 rule 2).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && !name.contains('+')
        && !name.chars().any(char::is_whitespace)
}

/// The 4-byte key ID of an Ed25519 key named `name`.
pub fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut buf = Vec::with_capacity(name.len() + 34);
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'\n');
    buf.push(ALG_ED25519);
    buf.extend_from_slice(key.as_bytes());
    let h = sha256(&buf);
    let b = h.as_bytes();
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A named Ed25519 public key: a C2SP note verifier, also used for DSSE (SPEC.md §5.1).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.vkey())
    }
}

impl PublicKey {
    /// Names a raw 32-byte Ed25519 public key (SPEC.md §5.1 rules 3 and 5, §6.3 rules 3 and 5).
    ///
    /// Rejects with `KEY_MALFORMED`: an invalid name; a key that is not 32 bytes, not a curve
    /// point, not the canonical encoding of its point (a y coordinate ≥ p, or the sign bit set
    /// on x = 0, which ed25519-dalek decompresses by reducing), or of small order (it would
    /// never pass `verify_strict`, and one signature could verify for many messages).
    pub fn new(name: &str, key: &[u8]) -> Result<Self, NoteError> {
        if !is_valid_name(name) {
            return Err(NoteError::KeyMalformed("invalid key name"));
        }
        let raw: [u8; 32] = key
            .try_into()
            .map_err(|_| NoteError::KeyMalformed("Ed25519 public key must be 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&raw)
            .map_err(|_| NoteError::KeyMalformed("not a valid Ed25519 point"))?;
        if key.to_edwards().compress().as_bytes() != &raw {
            return Err(NoteError::KeyMalformed(
                "not the canonical encoding of an Ed25519 point",
            ));
        }
        if key.is_weak() {
            return Err(NoteError::KeyMalformed("Ed25519 public key of small order"));
        }
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, &key),
            key,
        })
    }

    /// Parses a vkey `<name>+<8 hex key ID>+<base64(0x01 ‖ key)>` and checks the key ID.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        // The base64 key may itself contain '+': split on the first two only, as Go's note does.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::KeyMalformed("a vkey has the form name+hash+key"));
        };
        if hash.len() != 8
            || !hash
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        {
            return Err(NoteError::KeyMalformed("key ID must be 8 lowercase hex digits"));
        }
        let id = u32::from_str_radix(hash, 16).map_err(|_| NoteError::KeyMalformed("bad key ID"))?;
        let raw = b64::decode_standard(key).ok_or(NoteError::KeyMalformed("key is not standard base64"))?;
        let Some((&alg, pk)) = raw.split_first() else {
            return Err(NoteError::KeyMalformed("empty key"));
        };
        if alg != ALG_ED25519 {
            return Err(NoteError::KeyMalformed(
                "only Ed25519 (algorithm 0x01) keys are supported",
            ));
        }
        let k = Self::new(name, pk)?;
        if k.id != id {
            return Err(NoteError::KeyMalformed("key ID does not match name and key"));
        }
        Ok(k)
    }

    /// The vkey string.
    pub fn vkey(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, b64::encode(&raw))
    }
    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The 4-byte key ID.
    pub fn id(&self) -> u32 {
        self.id
    }
    /// The DSSE `keyid` used for this key: `<name>+<8 hex key ID>` (SPEC.md §6.2).
    pub fn dsse_keyid(&self) -> String {
        format!("{}+{:08x}", self.name, self.id)
    }
    /// The raw 32-byte public key.
    pub fn raw(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// Ed25519 strict verification (`verify_strict`: rejects small-order keys and non-canonical
    /// encodings; SPEC.md §6.3).
    pub fn verify_strict(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = <[u8; 64]>::try_from(sig) else {
            return false;
        };
        self.key.verify_strict(msg, &Signature::from_bytes(&sig)).is_ok()
    }
}

/// A named Ed25519 signing key. Signing is deterministic; the SDK never generates keys.
pub struct SecretKey {
    public: PublicKey,
    key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, <redacted>)", self.public.vkey())
    }
}

impl SecretKey {
    /// From a 32-byte RFC 8032 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        let key = SigningKey::from_bytes(seed);
        let public = PublicKey::new(name, key.verifying_key().as_bytes())?;
        Ok(Self { public, key })
    }
    /// Parses a Go-style note private key `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 ‖ seed)>`.
    pub fn from_skey(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::KeyMalformed("skey must start PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::KeyMalformed("bad skey"));
        };
        let raw = b64::decode_standard(key).ok_or(NoteError::KeyMalformed("bad skey base64"))?;
        let Some((&ALG_ED25519, seed)) = raw.split_first() else {
            return Err(NoteError::KeyMalformed("skey is not Ed25519"));
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| NoteError::KeyMalformed("seed must be 32 bytes"))?;
        let k = Self::from_seed(name, &seed)?;
        if format!("{:08x}", k.public.id) != hash {
            return Err(NoteError::KeyMalformed("skey ID does not match"));
        }
        Ok(k)
    }
    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }
    /// The 32-byte seed (for writing the key file; handle with care).
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }
    /// Raw Ed25519 signature over `msg`.
    pub fn sign_raw(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }
    /// Signs `text` (must end in `\n`) as a one-signature note.
    pub fn sign_note(&self, text: &str) -> Result<SignedNote, NoteError> {
        check_text(text)?;
        let sig = self.sign_raw(text.as_bytes());
        Ok(SignedNote {
            text: text.to_owned(),
            sigs: vec![NoteSignature {
                name: self.public.name.clone(),
                id: self.public.id,
                sig: sig.to_vec(),
            }],
        })
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer name.
    pub name: String,
    /// The 4-byte key ID.
    pub id: u32,
    /// The signature bytes (64 for Ed25519; other algorithms may differ).
    pub sig: Vec<u8>,
}

/// A parsed (not yet verified) signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote {
    text: String,
    sigs: Vec<NoteSignature>,
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("note text must end in a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed("note text has a control character"));
    }
    Ok(())
}

impl SignedNote {
    /// Parses note bytes (SPEC.md §5.2).
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(NoteError::Malformed("note exceeds MAX_NOTE_BYTES"));
        }
        let s = core::str::from_utf8(bytes).map_err(|_| NoteError::Malformed("note is not UTF-8"))?;
        if s.chars().any(|c| c < ' ' && c != '\n') {
            return Err(NoteError::Malformed("note has a control character"));
        }
        let split = s
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (text, sigs) = (&s[..split + 1], &s[split + 2..]);
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(NoteError::Malformed(
                "signature block must be non-empty and end in a newline",
            ));
        }
        let mut out = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            if out.len() == MAX_NOTE_SIGNATURES {
                return Err(NoteError::Malformed("too many signatures"));
            }
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or(NoteError::Malformed("signature line must start with '— '"))?;
            let (name, b) = rest.split_once(' ').ok_or(NoteError::Malformed(
                "signature line needs a name and a signature",
            ))?;
            if !is_valid_name(name) {
                return Err(NoteError::Malformed("invalid signer name"));
            }
            let raw =
                b64::decode_standard(b).ok_or(NoteError::Malformed("signature is not standard base64"))?;
            if raw.len() < 5 {
                return Err(NoteError::Malformed("signature too short"));
            }
            let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
            out.push(NoteSignature {
                name: name.to_owned(),
                id,
                sig: raw[4..].to_vec(),
            });
        }
        Ok(Self {
            text: text.to_owned(),
            sigs: out,
        })
    }

    /// The signed text.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// The signature lines.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.sigs
    }

    /// Serializes the note.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.sigs {
            let mut raw = s.id.to_be_bytes().to_vec();
            raw.extend_from_slice(&s.sig);
            out.push_str(SIG_PREFIX);
            out.push_str(&s.name);
            out.push(' ');
            out.push_str(&b64::encode(&raw));
            out.push('\n');
        }
        out
    }

    /// Verifies the signature by `key`: every line by `key` must verify (repeated lines
    /// included), and lines by other keys are ignored (SPEC.md §5.2). Against a trust root use
    /// [`crate::TrustRoot::verify_note`], which applies this to every trusted, valid key.
    pub fn verify(&self, key: &PublicKey) -> Result<Verified<String>, NoteError> {
        let mut found = false;
        for s in self.sigs.iter().filter(|s| s.name == key.name && s.id == key.id) {
            found = true;
            if !key.verify_strict(self.text.as_bytes(), &s.sig) {
                return Err(NoteError::SignatureInvalid(key.name.clone()));
            }
        }
        if found {
            Ok(Verified::new(self.text.clone()))
        } else {
            Err(NoteError::KeyUnknown)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// `p + y0` as 32 little-endian bytes, optionally with the x sign bit: a non-canonical
    /// encoding of the point with y = y0, for y0 < 19 (so that p + y0 < 2^255).
    fn non_canonical_y(y0: u8, sign: bool) -> [u8; 32] {
        let mut b = [0xff; 32];
        b[0] = 0xed + y0; // p = 2^255 − 19 = ed ff … ff 7f (little-endian)
        b[31] = if sign { 0xff } else { 0x7f };
        b
    }

    #[test]
    fn rejects_non_canonical_key_encodings() {
        // y = p + 3 decodes (y = 3 is on the curve) to a point that is not of small order: only
        // the canonical-encoding check can reject it.
        for sign in [false, true] {
            let raw = non_canonical_y(3, sign);
            let vk = VerifyingKey::from_bytes(&raw).expect("ed25519-dalek decompresses y >= p");
            assert_ne!(vk.to_edwards().compress().as_bytes(), &raw);
            assert!(!vk.is_weak());
            assert_eq!(
                PublicKey::new("example.org/evl", &raw),
                Err(NoteError::KeyMalformed(
                    "not the canonical encoding of an Ed25519 point"
                ))
            );
            // The same key in a vkey with its correct key ID fails on the encoding, not the ID.
            let mut alg_key = vec![ALG_ED25519];
            alg_key.extend_from_slice(&raw);
            let vkey = format!(
                "example.org/evl+{:08x}+{}",
                key_id("example.org/evl", &vk),
                b64::encode(&alg_key)
            );
            assert_eq!(
                PublicKey::from_vkey(&vkey).map_err(|e| e.code()),
                Err(ErrorCode::KeyMalformed)
            );
        }
        // Every y ≥ p encoding that decodes at all is rejected, whichever check catches it.
        let mut decoded = 0;
        for y0 in 0..19 {
            for sign in [false, true] {
                let raw = non_canonical_y(y0, sign);
                if VerifyingKey::from_bytes(&raw).is_ok() {
                    decoded += 1;
                    assert_eq!(
                        PublicKey::new("k", &raw).map_err(|e| e.code()),
                        Err(ErrorCode::KeyMalformed),
                        "y = p + {y0}, sign {sign}"
                    );
                }
            }
        }
        assert!(decoded >= 20, "only {decoded} non-canonical encodings decode");
    }

    #[test]
    fn rejects_small_order_keys() {
        let small_order = [
            // identity (0, 1), order 1
            "0100000000000000000000000000000000000000000000000000000000000000",
            // (0, −1), order 2
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            // (√−1, 0), order 4
            "0000000000000000000000000000000000000000000000000000000000000000",
            // order 8
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        ];
        for h in small_order {
            let raw = unhex(h);
            let vk = VerifyingKey::from_bytes(&raw).unwrap();
            // Canonical encodings: only the small-order check can reject them.
            assert_eq!(vk.to_edwards().compress().as_bytes(), &raw, "{h}");
            assert!(vk.is_weak(), "{h}");
            assert_eq!(
                PublicKey::new("example.org/evl", &raw),
                Err(NoteError::KeyMalformed("Ed25519 public key of small order")),
                "{h}"
            );
        }
        // The identity with the sign bit set is both non-canonical and of small order.
        let mut neg_zero = unhex(small_order[0]);
        neg_zero[31] |= 0x80;
        assert_eq!(
            PublicKey::new("k", &neg_zero).map_err(|e| e.code()),
            Err(ErrorCode::KeyMalformed)
        );
    }

    #[test]
    fn accepts_honest_keys() {
        let k = SecretKey::from_seed("example.org/evl", &[1; 32]).unwrap();
        assert_eq!(
            k.public().vkey(),
            "example.org/evl+d3076b9f+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c"
        );
        assert_eq!(PublicKey::from_vkey(&k.public().vkey()).unwrap(), *k.public());
    }
}
