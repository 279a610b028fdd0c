#!/usr/bin/env python3
"""CI-only interop check: independent verifiers (written by others) must agree with every
generated vector in vectors/generated/.

  Go golang.org/x/mod/sumdb/tlog  : every inclusion / consistency vector (positive and negative)
  Go golang.org/x/mod/sumdb/note  : every checkpoint vector, and the checkpoints inside receipts
                                    and anchors
  sigstore SignedNote/LogCheckpoint: every positive checkpoint
  securesystemslib DSSE           : every DSSE vector and every anchor envelope
  rfc8785 (Python)                : every canonical-JSON and node vector's canonical form

Negative cases are counted as "not checked by the peer" where the peer does not check that
property (e.g. Python's json accepts duplicate keys; Go's note does not know key expiry;
OpenSSL accepts small-order Ed25519 public keys).

Usage: python3 vectors/interop.py PEERS_DIR    (after PEERS_DIR/setup.sh)
Prints a summary table and exits non-zero on any disagreement.
"""
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(ROOT, "generated")
PEERS = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "..", "shared", "peers"))
GO = os.path.join(PEERS, ".build", "peerverify")
PY = [os.path.join(PEERS, ".venv", "bin", "python3"), os.path.join(PEERS, "pyverify.py")]
TMP = tempfile.mkdtemp(prefix="evl-interop-")

results = {}  # family -> [agree, disagree, not_checked]
failures = []


def tally(family, outcome, name=""):
    row = results.setdefault(family, [0, 0, 0])
    row[{"agree": 0, "disagree": 1, "n/a": 2}[outcome]] += 1
    if outcome == "disagree":
        failures.append(f"{family}: {name}")


def run(cmd, stdin=None):
    p = subprocess.run(cmd, capture_output=True, text=True, input=stdin)
    return p.returncode, p.stdout + p.stderr


def tmpfile(name, data):
    path = os.path.join(TMP, name)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)
    return path


def vectors(kind):
    for path in sorted(glob.glob(os.path.join(GEN, kind, "*.json"))):
        with open(path, encoding="utf-8") as f:
            yield os.path.basename(path), json.load(f)


def merkle(kind, sub):
    files = sorted(glob.glob(os.path.join(GEN, kind, "*.json")))
    rc, out = run([GO, sub] + files)
    # peerverify prints one line per disagreeing probe and a final "N agree, M disagree".
    last = out.strip().splitlines()[-1] if out.strip() else ""
    try:
        agree = int(last.split(":")[1].split("agree")[0])
        disagree = int(last.split(",")[1].split("disagree")[0])
    except (IndexError, ValueError):
        agree, disagree = 0, len(files)
    results[f"{kind} (Go tlog)"] = [agree, disagree, 0]
    if disagree or rc != 0 or agree != len(files):
        failures.append(f"{kind}: Go tlog: {out.strip()[-400:]}")


def go_note(family, name, vkey, note, want_ok, extra_vkeys=()):
    rc, out = run([GO, "note-verify", vkey, tmpfile("n.note", note), *extra_vkeys])
    ok = rc == 0 and "verified" in out
    tally(family, "agree" if ok == want_ok else "disagree", f"{name}: {out.strip()[:200]}")


def checkpoints():
    for name, v in vectors("checkpoint"):
        err = v["error"]
        if err in (None, "SIGNATURE_INVALID", "KEY_UNKNOWN", "NOTE_MALFORMED"):
            if err == "NOTE_MALFORMED" and "leading-zero" in name:
                # The note is validly signed; only the checkpoint body rule (no leading zeros)
                # is ours. Go's note checks the signature only.
                tally("checkpoint (Go note)", "n/a")
                continue
            # extra_vkeys: further keys the peer must know, e.g. both keys during a rotation,
            # so that Go's note.Open checks every line by a known key as we do (§5.2 rule 6).
            go_note("checkpoint (Go note)", name, v["vkey"], v["note"], err is None, v.get("extra_vkeys", []))
        else:
            tally("checkpoint (Go note)", "n/a")  # expiry, revocation, origin: trust policy, not note format
        if err is None:
            rc, out = run(PY + ["note-verify", v["vkey"], tmpfile("n.note", v["note"]), "--checkpoint"])
            tally("checkpoint (sigstore)", "agree" if rc == 0 else "disagree", f"{name}: {out[-300:]}")


def vkeys_of(trust_root):
    return [k["vkey"] for k in trust_root["keys"]]


def embedded_checkpoints():
    for name, v in vectors("receipt"):
        if v["error"] is None:
            go_note("receipt checkpoint (Go note)", name, vkeys_of(v["trust_root"])[0], v["receipt"]["checkpoint"], True)
    for name, v in vectors("anchor-chain"):
        if v["error"] is None:
            for a in v["anchors"]:
                payload = json.loads(b64dec(a["payload"]))
                go_note("anchor checkpoint (Go note)", name, vkeys_of(v["trust_root"])[0], payload["checkpoint"], True)


def b64dec(s):
    import base64
    s = s.replace("-", "+").replace("_", "/")
    return base64.b64decode(s + "=" * (-len(s) % 4))


def dsse():
    for name, v in vectors("dsse"):
        env = tmpfile("e.json", json.dumps(v["envelope"]))
        rc, out = run(PY + ["dsse-verify", env, v["public_key_hex"]])
        want_ok = v["error"] is None
        if v["error"] == "KEY_MALFORMED" and rc == 0:
            # Small-order and non-canonical public keys (§5.1 rule 5, §6.3 rules 3 and 5):
            # OpenSSL, under securesystemslib, accepts them and the (R = identity, S = 0)
            # signature that then verifies for every message. It does not check that rule.
            tally("dsse (securesystemslib)", "n/a")
            continue
        tally("dsse (securesystemslib)", "agree" if (rc == 0) == want_ok else "disagree", f"{name}: {out[-300:]}")
    for name, v in vectors("anchor-chain"):
        if v["error"] is not None:
            continue
        pub = None
        for a in v["anchors"]:
            keyid = a["signatures"][0]["keyid"]
            for vk in vkeys_of(v["trust_root"]):
                n, h, k = vk.split("+", 2)
                if f"{n}+{h}" == keyid:
                    pub = b64dec(k)[1:].hex()
            env = tmpfile("a.json", json.dumps(a))
            rc, out = run(PY + ["dsse-verify", env, pub])
            tally("anchor envelope (securesystemslib)", "agree" if rc == 0 else "disagree", f"{name}: {out[-300:]}")


def jcs():
    for name, v in vectors("canonical"):
        data = bytes.fromhex(v["input_hex"]) if "input_hex" in v else v["input"].encode("utf-8")
        rc, out = run(PY + ["jcs", tmpfile("c.json", data)])
        if v["error"] is None:
            tally("canonical (rfc8785)", "agree" if rc == 0 and out == v["canonical"] else "disagree", f"{name}: {out[:200]!r}")
        else:
            # The peer parses with Python's json (duplicate keys: last wins; big integers as
            # floats): where it accepts, it does not check that rule.
            tally("canonical (rfc8785)", "agree" if rc != 0 else "n/a", name)
    for name, v in vectors("node"):
        if v["error"] is not None:
            tally("node id (rfc8785 + sha256)", "n/a")
            continue
        rc, out = run(PY + ["jcs", tmpfile("node.json", v["bytes"])])
        same = rc == 0 and out == v["bytes"]
        digest = hashlib.sha256(out.encode("utf-8")).hexdigest()
        same = same and v["node_id"] == "sha256:" + digest
        tally("node id (rfc8785 + sha256)", "agree" if same else "disagree", name)


def main():
    for tool in (GO, PY[0]):
        if not os.path.exists(tool):
            sys.exit(f"interop: {tool} missing; run {PEERS}/setup.sh first")
    merkle("inclusion", "inclusion-json")
    merkle("consistency", "consistency-json")
    checkpoints()
    embedded_checkpoints()
    dsse()
    jcs()
    width = max(len(k) for k in results)
    print(f"{'family (peer)':<{width}}  agree  disagree  not checked by peer")
    for fam, (a, d, n) in results.items():
        print(f"{fam:<{width}}  {a:>5}  {d:>8}  {n:>5}")
    total = sum(r[0] + r[1] for r in results.values())
    bad = sum(r[1] for r in results.values())
    if failures:
        print("\nDISAGREEMENTS:")
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print(f"\ninterop: {total} peer checks, {total - bad} agree, 0 disagree (100%)")


if __name__ == "__main__":
    main()
