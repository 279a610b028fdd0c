#!/usr/bin/env python3
"""Cross-checks C2SP tlog-proof files (SPEC.md §9.6) with independent verifiers.

A tlog-proof is split here (no verification of our own) into its checkpoint and its inclusion
proof, then:

  Go golang.org/x/mod/sumdb/note   : `peerverify note-verify VKEY CHECKPOINT` (note.Open)
  sigstore-python + pymerkle        : `pyverify.py inclusion --index I --size N --leaf-… --root R PROOF…`
                                      with N and R read from the checkpoint body

The leaf: `--leaf-hash HEX`, or `--leaf-data HEX` (the peers hash it with 0x00), or by default
the NodeId in the proof's `extra` line (Evidence Ledger packs): its 32-byte digest is the leaf
data (SPEC.md §4.1), so the peers compute the leaf hash themselves.

Usage:
  python3 vectors/tlog_proof_peer.py PROOF.tlog-proof VKEY [--leaf-hash H | --leaf-data D]
  python3 vectors/tlog_proof_peer.py --vectors [DIR]     every vectors/generated/tlog-proof case
Peers: PEERS_DIR (required; the peer verifiers' directory) after PEERS_DIR/setup.sh; BIN and
VENV override PEERS_DIR/.build and PEERS_DIR/.venv as in setup.sh. Exit status 0 = peers accept
(or, with --vectors, agree with every recorded verdict they can check).
"""
import argparse
import base64
import binascii
import glob
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.abspath(__file__))
if not os.environ.get("PEERS_DIR"):
    sys.exit("tlog_proof_peer.py: set PEERS_DIR to the peer verifiers' directory (installed by its setup.sh)")
PEERS = os.path.abspath(os.environ["PEERS_DIR"])
BIN = os.environ.get("BIN", os.path.join(PEERS, ".build"))
VENV = os.environ.get("VENV", os.path.join(PEERS, ".venv"))
GO = os.path.join(BIN, "peerverify")
PY = [os.path.join(VENV, "bin", "python3"), os.path.join(PEERS, "pyverify.py")]
HEADER = "c2sp.org/tlog-proof@v1"


def b64(s):
    return base64.b64decode(s, validate=True)


def split(text):
    """(index, extra bytes or None, [hash bytes], checkpoint text). Raises ValueError."""
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise ValueError("no empty line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise ValueError("bad header")
    rest = lines[1:]
    extra = None
    if rest and rest[0].startswith("extra "):
        extra = b64(rest.pop(0)[len("extra "):])
    if not rest or not rest[0].startswith("index "):
        raise ValueError("no index line")
    index = rest.pop(0)[len("index "):]
    if not index.isdigit() or (len(index) > 1 and index[0] == "0"):
        raise ValueError("bad index")
    hashes = [b64(h) for h in rest]
    if any(len(h) != 32 for h in hashes):
        raise ValueError("hash is not 32 bytes")
    return int(index), extra, hashes, note


def leaf_args(extra, leaf_hash, leaf_data):
    if leaf_hash:
        return ["--leaf-hash", leaf_hash]
    if leaf_data:
        return ["--leaf-data", leaf_data]
    node_id = (extra or b"").decode("ascii", "replace")
    if not node_id.startswith("sha256:") or len(node_id) != 71:
        raise ValueError("no leaf given and extra is not a NodeId")
    return ["--leaf-data", node_id[len("sha256:"):]]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode == 0, (p.stdout + p.stderr).strip()


def check(text, vkey, leaf_hash=None, leaf_data=None, quiet=False):
    """Returns (note_ok, inclusion_ok). Raises ValueError if the text does not split."""
    index, extra, hashes, note = split(text)
    body = note.split("\n")
    if len(body) < 3:
        raise ValueError("checkpoint body too short")
    size, root = body[1], b64(body[2]).hex()
    with tempfile.NamedTemporaryFile("w", suffix=".note", delete=False) as f:
        f.write(note)
        note_file = f.name
    try:
        note_ok, note_out = run([GO, "note-verify", vkey, note_file])
    finally:
        os.unlink(note_file)
    inc_ok, inc_out = run(PY + ["inclusion", "--index", str(index), "--size", size, "--root", root]
                          + leaf_args(extra, leaf_hash, leaf_data) + [h.hex() for h in hashes])
    if not quiet:
        print(f"Go note.Open:             {'ok' if note_ok else 'FAIL'}\n  " + note_out.replace("\n", "\n  "))
        print(f"sigstore + pymerkle:      {'ok' if inc_ok else 'FAIL'}\n  " + inc_out.replace("\n", "\n  "))
    return note_ok, inc_ok


def vectors(directory):
    agree, disagree, na = 0, 0, 0
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        v = json.load(open(path))
        name = os.path.basename(path)
        want_ok = v["error"] is None
        try:
            lh = base64.b64decode(v["leaf_hash"]).hex()
            note_ok, inc_ok = check(v["proof"], v["vkey"], leaf_hash=lh, quiet=True)
        except (ValueError, binascii.Error) as e:
            # A format rule the peers have no parser for: only the SDK checks it.
            outcome = "n/a" if v["error"] in ("PROOF_MALFORMED", "NOTE_MALFORMED") else "disagree"
            print(f"{outcome:8} {name}: does not split ({e}); SDK: {v['error']}")
            na += outcome == "n/a"
            disagree += outcome == "disagree"
            continue
        peer_ok = note_ok and inc_ok
        ok = peer_ok == want_ok
        agree += ok
        disagree += not ok
        print(f"{'agree' if ok else 'DISAGREE':8} {name}: note {'ok' if note_ok else 'fail'}, "
              f"inclusion {'ok' if inc_ok else 'fail'}; SDK: {v['error'] or 'accept'}")
    print(f"tlog-proof: {agree} agree, {disagree} disagree, {na} not checked by a peer")
    return 1 if disagree else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("proof", nargs="?")
    ap.add_argument("vkey", nargs="?")
    ap.add_argument("--leaf-hash")
    ap.add_argument("--leaf-data")
    ap.add_argument("--vectors", nargs="?", const=os.path.join(ROOT, "generated", "tlog-proof"))
    a = ap.parse_args()
    for exe in (GO, PY[0]):
        if not os.path.exists(exe):
            sys.exit(f"missing peer {exe}: run {PEERS}/setup.sh (or set BIN / VENV)")
    if a.vectors:
        return vectors(a.vectors)
    if not (a.proof and a.vkey):
        ap.error("PROOF and VKEY are required")
    note_ok, inc_ok = check(open(a.proof).read(), a.vkey, a.leaf_hash, a.leaf_data)
    print("PEERS ACCEPT" if note_ok and inc_ok else "PEERS REJECT")
    return 0 if note_ok and inc_ok else 1


if __name__ == "__main__":
    sys.exit(main())
