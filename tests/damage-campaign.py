#!/usr/bin/env python3
"""Storage-damage campaign for `evl`: damage ledger.redb at random, check what the CLI and server do.

What it does
------------
1. Builds one pristine ledger P in the work directory with the given `evl` binary: `evl init`,
   ~1,500 `x-campaign` JSON nodes (pad sizes 0-800 bytes) appended in batches with
   `evl anchor create` between them, 30 `x-expiring` nodes redacted by
   `evl cleanup --apply-retention --no-archive` (rule `max_age_days = 0` in P/evl.toml), more
   nodes after that, and a final anchor (7 anchors in all). P must pass `evl verify --mode full`.
   It records every NodeId, writes `pristine.bak` (`evl backup`), and then runs one control
   trial on an undamaged copy (with the HTTP round), which must find nothing, or the campaign
   stops: that checks the oracles below.
2. Each trial copies P to a fresh directory C and applies ONE damage to C/ledger.redb, the kinds
   taken round-robin (so every kind is represented equally):
     bitflip      flip 1 random bit anywhere in the file
     page8        flip 8 random bits inside one random 4 KiB page
     zeropage     zero one random 4 KiB page
     randpage     fill one random 4 KiB page with random bytes
     header       inside the first 4 KiB: flip a bit of the god byte (1 in 5); flip a bit or zero
                  1-64 bytes in redb's 320-byte database header (9 in 20); else flip a bit or
                  zero 1-512 bytes anywhere in the first 4 KiB
     truncate     cut 1, 2, 4, 8 pages or half the file off the end
3. On C it runs the read-only commands `status`, `verify --mode full`, `verify` (quick), `get` and
   `prove` for 10 NodeIds (the first, the last, a redacted one, a redaction record, 6 random),
   `checkpoint`, `anchor verify`, `backup -o`, `export --from-anchor 0 --to-anchor 1 -o`,
   `diagnostics -o`, and `verify-pack --trust-root P/trust-root.json` of any backup/export that
   was written. The sha256 of C/ledger.redb is taken before and after every one of them.
   Then `recover --from-backup pristine.bak` runs on a copy C2 of the damaged file, followed by
   `status` (and, if recover said it succeeded, `verify --mode full`, `get` of the last node and
   `checkpoint`). Every 5th trial also starts `evl serve` on a third copy C3 and fetches
   /v1/nodes/ID, /v1/nodes/ID/proof for the same 10 ids, and /v1/checkpoint.
   Every command has a timeout (--timeout, 60 s; after a timeout the rest of that trial uses
   15 s, and after 3 timeouts the remaining per-id commands of the trial are skipped).

Run it
------
    python3 tests/damage-campaign.py target/debug/evl                     # 200 trials, seed 1
    python3 tests/damage-campaign.py /tmp/evl --trials 30 --seed 7 --out r.json --workdir /tmp/w
    python3 tests/damage-campaign.py /tmp/evl --store-format 2             # on an evl-store/2 ledger
The binary is used as given (copy it first if it may be rebuilt during the run). Needs only
Python 3's standard library. Trial directories with a finding are kept under WORKDIR/trials/
(with `damaged.redb`, the untouched damaged file, and the commands' stderr); the others are
deleted. --keep-all keeps every trial.

What each count means (the four headline counts, then the others)
------------------------------------------------------------------
  panics          commands that panicked: exit code 101, or "panicked at" / "RUST_BACKTRACE"
                  in stderr (every command, the server included).
  changed/unopen  (a) trials in which a read-only command changed the bytes of C/ledger.redb
                  (sha256 before != after), named with the first command that changed them;
                  (b) trials where `status` worked on the damaged store but fails on C2 after
                  `recover` ("made unopenable by recover"), counted separately.
  wrong answers   a success that says something the pristine log does not: `get` exit 0 with
                  stdout != pristine `get` stdout (or not hashing to the NodeId); `prove` exit 0
                  whose receipt is not byte-identical to pristine `prove ID --size S` at the
                  receipt's own tree size S (also checked: node_id, leaf_index, the inclusion path
                  folds to the checkpoint's root, and that root is the pristine one at S);
                  `checkpoint` exit 0 != pristine; the same over HTTP for 2xx answers; and
                  `recover` exit 0 whose result then fails `verify --mode full` or answers wrong.
  bad packs       `backup`/`export` exit 0 whose file fails
                  `evl verify-pack FILE --trust-root P/trust-root.json`.
  timeouts        commands killed at the timeout (listed separately; also a finding).
  clean failures  non-zero exits that are neither panics nor timeouts, by command and the stable
                  code found in stderr (e.g. STORE_DAMAGED, NODE_ID_MISMATCH, MERKLE_MISMATCH);
                  "(no code)" when stderr names none.
The script exits 1 if panics, changed/unopenable stores, wrong answers, bad packs or timeouts
are non-zero, else 0. The JSON report (--out) holds the configuration, every trial (damage,
every command's exit code, time, code and first stderr lines on failure) and the summary.
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PAGE = 4096
KINDS = ["bitflip", "page8", "zeropage", "randpage", "header", "truncate"]
ORIGIN = "campaign.test/log"
RETENTION_TOML = '[retention]\nrules = [{ type = "x-expiring", max_age_days = 0 }]\n'
ID_RE = re.compile(r"sha256:[0-9a-f]{64}")
CODE_RE = re.compile(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
IGNORED_CODES = {"RUST_BACKTRACE", "EVL_DATA", "EVL_LOG"}


def log(msg):
    print(msg, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except FileNotFoundError:
        return None
    return h.hexdigest()


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVL_")}
    env["RUST_BACKTRACE"] = "0"
    return env


ENV = clean_env()


class Runner:
    """Runs evl commands with a timeout, in their own process group, recording each one."""

    def __init__(self, evl, timeout):
        self.evl = evl
        self.timeout = timeout

    def run(self, args, timeout=None, stdin=None, cwd=None):
        timeout = timeout or self.timeout
        t0 = time.monotonic()
        p = subprocess.Popen([self.evl] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                             env=ENV, cwd=cwd, start_new_session=True)
        timed_out = False
        try:
            out, err = p.communicate(input=stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = p.communicate()
        return {"rc": None if timed_out else p.returncode, "out": out, "err": err,
                "secs": round(time.monotonic() - t0, 3), "timeout": timed_out}


def is_panic(rc, err_text):
    return rc == 101 or "panicked at" in err_text or "RUST_BACKTRACE" in err_text


def find_code(text):
    """The stable code a failure names (stderr, then stdout), or "(no code: <phrase>)"."""
    text = ANSI_RE.sub("", text)
    m = re.search(r"(?:error: |FAIL +|\"code\" *: *\")([A-Z][A-Z0-9_]{2,})\b", text)
    if m:
        return m.group(1)
    for c in CODE_RE.findall(text):
        if c not in IGNORED_CODES:
            return c
    for phrase in ("store is damaged", "File truncated", "Invalid page", "cannot open", "in use",
                   "checksum", "No such file", "corrupt"):
        if phrase.lower() in text.lower():
            return f"(no code: {phrase})"
    return "(no code)"


def head(text, n=4, width=300):
    text = ANSI_RE.sub("", text)
    lines = [l[:width] for l in text.splitlines() if l.strip()]
    return lines[:n]


# ----------------------------------------------------------------------------------------------
# Merkle helpers (RFC 6962), for the independent receipt check


def _hash_children(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def root_from_inclusion(leaf_hash, index, size, path):
    """RFC 9162 2.1.3.2: the root an inclusion path folds to, or None if malformed."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = _hash_children(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _hash_children(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def check_receipt_structure(receipt_bytes, node_id, pristine_leaf):
    """Independent checks of a receipt (bytes of compact or pretty JSON). Returns (size, problems)."""
    problems = []
    try:
        r = json.loads(receipt_bytes)
        inc = r["inclusion"]
        size = int(inc["tree_size"])
    except Exception as ex:  # noqa: BLE001
        return None, [f"receipt does not parse: {ex}"]
    if r.get("node_id") != node_id:
        problems.append(f"node_id {r.get('node_id')} != requested {node_id}")
    if r.get("leaf_index") != pristine_leaf or inc.get("leaf_index") != pristine_leaf:
        problems.append(f"leaf_index {r.get('leaf_index')}/{inc.get('leaf_index')} != pristine {pristine_leaf}")
    try:
        cp_lines = r["checkpoint"].split("\n")
        cp_size, cp_root = int(cp_lines[1]), base64.b64decode(cp_lines[2])
        if cp_size != size:
            problems.append(f"checkpoint size {cp_size} != inclusion tree_size {size}")
        leaf = hashlib.sha256(b"\x00" + bytes.fromhex(node_id.split(":")[1])).digest()
        path = [base64.b64decode(h) for h in inc["hashes"]]
        got = root_from_inclusion(leaf, int(inc["leaf_index"]), size, path)
        if got != cp_root:
            problems.append("inclusion path does not fold to the checkpoint root")
    except Exception as ex:  # noqa: BLE001
        problems.append(f"receipt malformed: {ex}")
    return size, problems


# ----------------------------------------------------------------------------------------------
# Pristine ledger


class Pristine:
    def __init__(self, runner, workdir, rng):
        self.r = runner
        self.dir = os.path.join(workdir, "pristine")
        self.P = os.path.join(self.dir, "P")
        self.bak = os.path.join(self.dir, "pristine.bak")
        self.rng = rng
        self.ids = []            # NodeIds in leaf order
        self.leaf = {}           # NodeId -> leaf index
        self.redacted = []       # NodeIds whose content was redacted
        self.records = []        # redaction/v1 record NodeIds
        self._get = {}           # NodeId -> (rc, stdout)
        self._prove = {}         # (NodeId, size) -> (rc, stdout)
        self.checkpoint = None
        self.tree_size = None
        self.sha = None

    def must(self, args, what):
        res = self.r.run(args, timeout=600)
        if res["rc"] != 0:
            sys.exit(f"pristine build failed at {what}: rc={res['rc']}\n"
                     f"{res['err'].decode(errors='replace')}")
        return res

    def append(self, nodes, tag):
        path = os.path.join(self.dir, f"{tag}.jsonl")
        with open(path, "w") as f:
            for n in nodes:
                f.write(json.dumps(n, separators=(",", ":")) + "\n")
        res = self.must(["--data", self.P, "append", path, "--output", "json"], f"append {tag}")
        for item in json.loads(res["out"]):
            rc = item["receipt"]
            self._add(rc["node_id"], rc["leaf_index"])

    def _add(self, node_id, leaf):
        if node_id not in self.leaf:
            self.leaf[node_id] = leaf
            self.ids.append(node_id)

    def anchor(self):
        self.must(["--data", self.P, "anchor", "create"], "anchor create")

    def build(self, n_nodes=1500, batches=5, n_expiring=30, store_format=None):
        os.makedirs(self.dir)
        fmt = [] if store_format is None else ["--store-format", str(store_format)]
        self.must(["--data", self.P, "init", "--origin", ORIGIN] + fmt, "init")
        counter = 0

        def campaign_nodes(k):
            nonlocal counter
            out = []
            for _ in range(k):
                # Mostly small pads, some large: sizes 0..800.
                size = self.rng.choice([0, self.rng.randint(0, 64), self.rng.randint(0, 300),
                                        self.rng.randint(0, 800), 800])
                pad = "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(size))
                out.append({"type": "x-campaign", "i": counter, "pad": pad})
                counter += 1
            return out

        per = n_nodes // batches
        # batch 1, 2: anchors 0, 1
        for b in range(2):
            log(f"  append batch {b + 1}/{batches} ({per} nodes) + anchor")
            self.append(campaign_nodes(per), f"batch{b + 1}")
            self.anchor()
        # redaction: x-expiring nodes, anchor, cleanup (appends the records and anchors them)
        with open(os.path.join(self.P, "evl.toml"), "w") as f:
            f.write(RETENTION_TOML)
        log(f"  append {n_expiring} x-expiring nodes + anchor + cleanup --apply-retention --no-archive")
        self.append([{"type": "x-expiring", "i": i, "pad": "e" * (i * 7)} for i in range(n_expiring)], "expiring")
        self.anchor()
        res = self.must(["--data", self.P, "cleanup", "--apply-retention", "--no-archive", "--output", "json"],
                        "cleanup")
        cl = json.loads(res["out"])
        for red in sorted(cl["redacted"], key=lambda x: x["record_index"]):
            self.redacted.append(red["id"])
            self.records.append(red["record"])
            self._add(red["record"], red["record_index"])
        if len(self.redacted) != n_expiring:
            sys.exit(f"cleanup redacted {len(self.redacted)} nodes, expected {n_expiring}")
        for b in range(2, batches):
            log(f"  append batch {b + 1}/{batches} ({per} nodes) + anchor")
            self.append(campaign_nodes(per), f"batch{b + 1}")
            self.anchor()
        if sorted(self.leaf.values()) != list(range(len(self.ids))):
            sys.exit("recorded leaf indexes are not 0..n-1: some NodeId was missed")
        self.ids.sort(key=lambda i: self.leaf[i])
        log("  verify --mode full on the pristine store")
        res = self.must(["--data", self.P, "verify", "--mode", "full"], "verify --mode full")
        log("    " + " | ".join(head(res["out"].decode(errors="replace"), 1)))
        self.must(["--data", self.P, "backup", "-o", self.bak], "backup")
        self.must(["verify-pack", self.bak, "--trust-root", self.trust_root()], "verify-pack pristine.bak")
        self.checkpoint = self.must(["--data", self.P, "checkpoint"], "checkpoint")["out"]
        self.tree_size = int(self.checkpoint.decode().split("\n")[1])
        st = json.loads(self.must(["--data", self.P, "status", "--output", "json"], "status")["out"])
        self.anchors = st["anchors"]
        self.sha = sha256_file(os.path.join(self.P, "ledger.redb"))
        self.store_bytes = os.path.getsize(os.path.join(self.P, "ledger.redb"))

    def trust_root(self):
        return os.path.join(self.P, "trust-root.json")

    def get(self, node_id):
        if node_id not in self._get:
            res = self.r.run(["--data", self.P, "get", node_id], timeout=120)
            self._get[node_id] = (res["rc"], res["out"])
        return self._get[node_id]

    def prove(self, node_id, size):
        key = (node_id, size)
        if key not in self._prove:
            res = self.r.run(["--data", self.P, "prove", node_id, "--size", str(size)], timeout=120)
            self._prove[key] = (res["rc"], res["out"])
        return self._prove[key]

    def checkpoint_at(self, size):
        """The pristine signed checkpoint at `size` (from a pristine receipt), or None."""
        rc, out = self.prove(self.ids[0], size)
        if rc != 0:
            return None
        return json.loads(out)["checkpoint"].encode()


# ----------------------------------------------------------------------------------------------
# Damage


def apply_damage(path, kind, rng):
    size = os.path.getsize(path)
    npages = max(1, size // PAGE)
    d = {"kind": kind, "file_bytes": size}
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        before = bytes(data)
        if kind == "bitflip":
            off, bit = rng.randrange(size), rng.randrange(8)
            data[off] ^= 1 << bit
            d.update(offset=off, bit=bit, desc=f"flip bit {bit} of byte {off} (0x{off:x})")
        elif kind == "page8":
            page = rng.randrange(npages)
            bits = sorted(rng.sample(range(PAGE * 8), 8))
            offs = []
            for b in bits:
                off = page * PAGE + b // 8
                if off < size:
                    data[off] ^= 1 << (b % 8)
                    offs.append([off, b % 8])
            d.update(page=page, offset=page * PAGE, flips=offs,
                     desc=f"flip 8 bits in page {page} (offset {page * PAGE}): " +
                          ", ".join(f"{o}.{b}" for o, b in offs))
        elif kind in ("zeropage", "randpage"):
            page = rng.randrange(npages)
            off = page * PAGE
            n = min(PAGE, size - off)
            fill = bytes(n) if kind == "zeropage" else bytes(rng.getrandbits(8) for _ in range(n))
            data[off:off + n] = fill
            d.update(page=page, offset=off, length=n,
                     desc=f"{'zero' if kind == 'zeropage' else 'randomize'} page {page} (offset {off}, {n} bytes)")
        elif kind == "header":
            # redb's database header is the first 320 bytes: magic (0..9), the god byte (9: primary
            # slot, recovery-required, two-phase-commit, primary-unflushed bits), page size and
            # region layout (12..32), two 128-byte commit slots (64..192, 192..320). Most of the
            # damage goes there; the rest of the first 4 KiB gets the remainder.
            r = rng.random()
            if r < 0.2:
                off, bit = 9, rng.randrange(8)
                data[off] ^= 1 << bit
                d.update(sub="godbyte", offset=off, bit=bit, desc=f"header: flip bit {bit} of the god byte (9)")
            elif r < 0.8:
                limit = 320 if r < 0.65 else PAGE
                if rng.random() < 0.5:
                    off, bit = rng.randrange(limit), rng.randrange(8)
                    data[off] ^= 1 << bit
                    d.update(sub="bitflip", offset=off, bit=bit, desc=f"header: flip bit {bit} of byte {off}")
                else:
                    off = rng.randrange(limit)
                    n = min(rng.randint(1, 64 if limit == 320 else 512), PAGE - off)
                    data[off:off + n] = bytes(n)
                    d.update(sub="zero", offset=off, length=n, desc=f"header: zero bytes {off}..{off + n}")
            else:
                off = rng.randrange(PAGE)
                n = min(rng.randint(1, 512), PAGE - off)
                data[off:off + n] = bytes(n)
                d.update(sub="zero", offset=off, length=n, desc=f"header: zero bytes {off}..{off + n}")
        elif kind == "truncate":
            k = rng.choice([1, 1, 2, 4, 8, max(1, npages // 2)])
            k = min(k, npages - 1) if npages > 1 else 0
            new = size - k * PAGE
            del data[new:]
            d.update(pages=k, new_size=new, desc=f"truncate by {k} page(s): {size} -> {new} bytes")
        else:
            raise ValueError(kind)
        f.seek(0)
        f.write(data)
        f.truncate(len(data))
    d["noop"] = bytes(data) == before
    if "offset" in d and kind != "truncate":
        o = d["offset"]
        d["before_hex"] = before[o:o + 16].hex()
        d["after_hex"] = bytes(data[o:o + 16]).hex()
    return d


# ----------------------------------------------------------------------------------------------
# HTTP round


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(port, path, timeout):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ----------------------------------------------------------------------------------------------
# Trial


class Campaign:
    def __init__(self, args):
        self.args = args
        self.evl = os.path.abspath(args.evl)
        self.runner = Runner(self.evl, args.timeout)
        self.rng = random.Random(args.seed)
        self.workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="evl-campaign-"))
        os.makedirs(self.workdir, exist_ok=True)
        if os.listdir(self.workdir):
            sys.exit(f"--workdir {self.workdir} is not empty")
        self.findings = []   # every finding, flat
        self.trials = []
        self.codes = {}      # (command, code) -> count
        self.rcs = {}        # (command, rc) -> count

    # -- helpers ----------------------------------------------------------------------------
    def finding(self, trial, category, **kw):
        f = {"trial": trial["n"], "category": category, "damage": trial["damage"].get("desc"),
             "kind": trial["damage"]["kind"], **kw}
        trial["findings"].append(f)
        self.findings.append(f)
        tag = f"    FINDING {category}: {kw.get('command', '')} rc={kw.get('rc')} {kw.get('detail', '')}"
        log(tag[:400])

    def cmd(self, trial, name, args, state, count_codes=True):
        """Run one evl command for a trial; record it, count panics, timeouts, codes."""
        timeout = self.args.timeout if state["timeouts"] == 0 else min(15, self.args.timeout)
        res = self.runner.run(args, timeout=timeout)
        err = res["err"].decode(errors="replace")
        rec = {"name": name, "args": args, "rc": res["rc"], "secs": res["secs"]}
        short = name.split(" ")[0] if name.startswith(("get", "prove")) else name
        if res["timeout"]:
            rec["timeout"] = True
            state["timeouts"] += 1
            self.finding(trial, "timeout", command=name, rc=None, args=args,
                         detail=f"killed after {timeout}s", stderr=head(err))
        elif is_panic(res["rc"], err):
            rec["panic"] = True
            self.finding(trial, "panic", command=name, rc=res["rc"], args=args, stderr=head(err, 8))
        elif res["rc"] != 0:
            code = find_code(err + "\n" + res["out"].decode(errors="replace"))
            rec["code"] = code
            rec["stderr"] = head(err, 3)
            if count_codes:
                self.codes[(short, code)] = self.codes.get((short, code), 0) + 1
        if count_codes:
            self.rcs[(short, res["rc"])] = self.rcs.get((short, res["rc"]), 0) + 1
        trial["commands"].append(rec)
        return res

    def sample_ids(self, rng):
        P = self.P
        chosen = [P.ids[0], P.ids[-1], rng.choice(P.redacted), rng.choice(P.records)]
        while len(chosen) < 10:
            i = rng.choice(P.ids)
            if i not in chosen:
                chosen.append(i)
        return chosen

    # -- oracles ----------------------------------------------------------------------------
    def check_get(self, trial, name, node_id, out, via):
        prc, pout = self.P.get(node_id)
        if via == "http":
            pout = pout.rstrip(b"\n")
            out_cmp = out
        else:
            out_cmp = out
        if prc != 0:
            self.finding(trial, "wrong_answer", command=name, rc=0, node_id=node_id,
                         detail=f"success where pristine refuses (pristine rc {prc}); printed {out[:120]!r}")
            return
        if out_cmp != pout:
            digest_ok = hashlib.sha256(out.rstrip(b"\n")).hexdigest() == node_id.split(":")[1]
            self.finding(trial, "wrong_answer", command=name, rc=0, node_id=node_id,
                         detail=f"bytes differ from pristine (hash matches id: {digest_ok}); got {out[:120]!r}")

    def check_prove(self, trial, name, node_id, out, via):
        size, problems = check_receipt_structure(out, node_id, self.P.leaf[node_id])
        if size is not None:
            prc, pout = self.P.prove(node_id, size)
            if prc != 0:
                problems.append(f"pristine has no receipt at size {size} (pristine rc {prc})")
            elif via == "http":
                try:
                    if json.loads(out) != json.loads(pout):
                        problems.append(f"receipt differs from pristine at size {size}")
                except Exception as ex:  # noqa: BLE001
                    problems.append(f"receipt does not parse: {ex}")
            elif out != pout:
                problems.append(f"receipt not byte-identical to pristine `prove --size {size}`")
            if prc == 0 and size is not None:
                pcp = json.loads(pout)["checkpoint"].split("\n")[2]
                try:
                    cp = json.loads(out)["checkpoint"].split("\n")[2]
                    if cp != pcp:
                        problems.append(f"checkpoint root {cp} != pristine root {pcp} at size {size}")
                except Exception:  # noqa: BLE001
                    pass
        if problems:
            self.finding(trial, "wrong_answer", command=name, rc=0, node_id=node_id,
                         detail="; ".join(problems), got=out[:400].decode(errors="replace"))
        return size

    def check_checkpoint(self, trial, name, out, via):
        want = self.P.checkpoint if via == "cli" else self.P.checkpoint
        if out.rstrip(b"\n") == want.rstrip(b"\n"):
            return
        detail = "checkpoint differs from pristine latest"
        try:
            size = int(out.decode().split("\n")[1])
            old = self.P.checkpoint_at(size)
            if old is not None and old.rstrip(b"\n") == out.rstrip(b"\n"):
                detail = f"stale checkpoint: the pristine signed checkpoint at size {size} (latest is {self.P.tree_size})"
            else:
                detail += f" (size {size}, not a pristine checkpoint)"
        except Exception:  # noqa: BLE001
            pass
        self.finding(trial, "wrong_answer", command=name, rc=0, detail=detail,
                     got=out[:300].decode(errors="replace"))

    def check_pack(self, trial, name, path, state):
        res = self.cmd(trial, f"verify-pack ({name})", ["verify-pack", path, "--trust-root", self.P.trust_root()],
                       state)
        if res["rc"] != 0 and not res["timeout"]:
            self.finding(trial, "bad_pack", command=f"{name} then verify-pack", rc=res["rc"],
                         detail=" | ".join(head(res["err"].decode(errors="replace") +
                                                res["out"].decode(errors="replace"), 3)))

    # -- one trial --------------------------------------------------------------------------
    def trial(self, n, kind, http_round, control=False):
        rng = random.Random(f"{self.args.seed}-{n}")
        tdir = os.path.join(self.workdir, "trials", f"{n:04d}" if not control else "control")
        os.makedirs(tdir)
        C, C2 = os.path.join(tdir, "C"), os.path.join(tdir, "C2")
        shutil.copytree(self.P.P, C)
        store = os.path.join(C, "ledger.redb")
        if control:
            damage = {"kind": "none", "desc": "no damage (control)", "noop": True}
        else:
            damage = apply_damage(store, kind, rng)
        shutil.copy2(store, os.path.join(tdir, "damaged.redb"))
        shutil.copytree(C, C2)
        trial = {"n": n, "damage": damage, "commands": [], "findings": [], "http": None}
        state = {"timeouts": 0}
        ids = self.sample_ids(rng)
        trial["ids"] = ids
        log(f"[{n}] {damage['desc']}{' (no-op)' if damage.get('noop') and not control else ''}")

        # -- read-only commands on C, hashing the store after each --
        sha0 = sha256_file(store)
        changed_by = []

        def ro(name, args, **kw):
            nonlocal sha0
            res = self.cmd(trial, name, args, state, **kw)
            sha1 = sha256_file(store)
            if sha1 != sha0:
                changed_by.append({"command": name, "rc": res["rc"], "before": sha0, "after": sha1,
                                   "stderr": head(res["err"].decode(errors="replace"))})
                sha0 = sha1
            return res

        d = ["--data", C]
        st = ro("status", d + ["status"])
        status_ok = st["rc"] == 0
        trial["status_rc"] = st["rc"]
        vf = ro("verify --mode full", d + ["verify", "--mode", "full"])
        trial["verify_full_rc"] = vf["rc"]
        ro("verify (quick)", d + ["verify"])
        ok_reads = 0
        for i, node_id in enumerate(ids):
            if state["timeouts"] >= 3:
                trial["skipped_after_timeouts"] = True
                break
            g = ro(f"get {node_id[:19]} (leaf {self.P.leaf[node_id]})", d + ["get", node_id])
            if g["rc"] == 0:
                ok_reads += 1
                self.check_get(trial, f"get (leaf {self.P.leaf[node_id]})", node_id, g["out"], "cli")
            p = ro(f"prove {node_id[:19]} (leaf {self.P.leaf[node_id]})", d + ["prove", node_id])
            if p["rc"] == 0:
                self.check_prove(trial, f"prove (leaf {self.P.leaf[node_id]})", node_id, p["out"], "cli")
        cp = ro("checkpoint", d + ["checkpoint"])
        if cp["rc"] == 0:
            self.check_checkpoint(trial, "checkpoint", cp["out"], "cli")
        ro("anchor verify", d + ["anchor", "verify"])
        bak = os.path.join(tdir, "C.bak")
        b = ro("backup", d + ["backup", "-o", bak])
        exp = os.path.join(tdir, "C.exp")
        e = ro("export", d + ["export", "--from-anchor", "0", "--to-anchor", "1", "-o", exp])
        ro("diagnostics", d + ["diagnostics", "-o", os.path.join(tdir, "C.diag.tar.zst")])
        if changed_by:
            self.finding(trial, "store_changed", command=changed_by[0]["command"], rc=changed_by[0]["rc"],
                         detail=f"ledger.redb sha256 changed by {[c['command'] for c in changed_by]}",
                         changes=changed_by)
        # Packs are verified after the store hashing (verify-pack does not touch the store).
        if b["rc"] == 0:
            self.check_pack(trial, "backup", bak, state)
        if e["rc"] == 0:
            self.check_pack(trial, "export", exp, state)
        trial["verify_full_ok_but_reads_failed"] = (vf["rc"] == 0 and ok_reads < len(
            [i for i in ids if self.P.get(i)[0] == 0]))

        # -- recover on C2 --
        d2 = ["--data", C2]
        rc_res = self.cmd(trial, "recover", d2 + ["recover", "--from-backup", self.P.bak], state)
        trial["recover_rc"] = rc_res["rc"]
        st2 = self.cmd(trial, "status after recover", d2 + ["status"], state, count_codes=False)
        trial["status_after_recover_rc"] = st2["rc"]
        if status_ok and st2["rc"] != 0 and not st2["timeout"]:
            self.finding(trial, "unopenable_after_recover", command="recover then status", rc=st2["rc"],
                         detail=f"status worked before recover (rc 0), fails after (recover rc {rc_res['rc']})",
                         stderr=head(st2["err"].decode(errors="replace")),
                         recover_stderr=head(rc_res["err"].decode(errors="replace")))
        if rc_res["rc"] == 0:
            v2 = self.cmd(trial, "verify --mode full after recover", d2 + ["verify", "--mode", "full"], state,
                          count_codes=False)
            if v2["rc"] != 0 and not v2["timeout"]:
                self.finding(trial, "wrong_answer", command="recover (exit 0) then verify --mode full", rc=v2["rc"],
                             detail=" | ".join(head(v2["err"].decode(errors="replace") +
                                                    v2["out"].decode(errors="replace"), 3)))
            last = self.P.ids[-1]
            g2 = self.cmd(trial, "get last after recover", d2 + ["get", last], state, count_codes=False)
            if g2["rc"] == 0:
                self.check_get(trial, "get last after recover", last, g2["out"], "cli")
            elif not g2["timeout"]:
                self.finding(trial, "wrong_answer", command="recover (exit 0) then get last", rc=g2["rc"],
                             detail="recover succeeded but the last node cannot be read: " +
                                    " | ".join(head(g2["err"].decode(errors="replace"), 2)))
            c2 = self.cmd(trial, "checkpoint after recover", d2 + ["checkpoint"], state, count_codes=False)
            if c2["rc"] == 0:
                self.check_checkpoint(trial, "checkpoint after recover", c2["out"], "cli")

        # -- HTTP round on C3 --
        if http_round:
            trial["http"] = self.http_round(trial, tdir, ids, state)

        trial["finding_count"] = len(trial["findings"])
        keep = bool(trial["findings"]) or self.args.keep_all or control
        if not keep:
            shutil.rmtree(tdir, ignore_errors=True)
        else:
            trial["dir"] = tdir
        self.trials.append(trial)
        return trial

    def http_round(self, trial, tdir, ids, state):
        C3 = os.path.join(tdir, "C3")
        shutil.copy2(os.path.join(tdir, "damaged.redb"), os.path.join(tdir, "damaged.redb.tmp"))
        shutil.copytree(self.P.P, C3)
        os.replace(os.path.join(tdir, "damaged.redb.tmp"), os.path.join(C3, "ledger.redb"))
        port = free_port()
        errf = open(os.path.join(tdir, "serve.stderr"), "wb")
        argv = [self.evl, "--data", C3, "serve", "--listen", f"127.0.0.1:{port}"]
        proc = subprocess.Popen(argv, stdout=errf, stderr=errf, stdin=subprocess.DEVNULL, env=ENV,
                                start_new_session=True)
        info = {"port": port, "started": False, "answers": []}
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                try:
                    s, _ = http_get(port, "/health/liveness", 2)
                    if s == 200:
                        info["started"] = True
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            if not info["started"]:
                errf.flush()
                with open(os.path.join(tdir, "serve.stderr"), "rb") as f:
                    err = f.read().decode(errors="replace")
                info["rc"] = proc.poll()
                info["stderr"] = head(err, 4)
                if is_panic(proc.returncode if proc.returncode is not None else 0, err):
                    self.finding(trial, "panic", command="serve (start)", rc=proc.returncode, stderr=head(err, 8))
                elif proc.returncode is None:
                    self.finding(trial, "timeout", command="serve (start)", rc=None,
                                 detail="not listening after 30 s", stderr=head(err))
                log(f"    http: server did not start (rc {info['rc']}): {' | '.join(info['stderr'][:2])[:200]}")
                return info
            for node_id in ids:
                for suffix, what in (("", "node"), ("/proof", "proof")):
                    path = f"/v1/nodes/{node_id}{suffix}"
                    try:
                        status, body = http_get(port, path, self.args.timeout)
                    except (OSError, http.client.HTTPException) as ex:
                        info["answers"].append({"path": path, "error": str(ex)})
                        if isinstance(ex, socket.timeout):
                            self.finding(trial, "timeout", command=f"GET {path}", rc=None,
                                         detail=f"no answer in {self.args.timeout}s")
                        continue
                    info["answers"].append({"path": path, "status": status,
                                            "code": None if status < 300 else find_code(body.decode(errors="replace"))})
                    if 200 <= status < 300:
                        name = f"GET /v1/nodes/<leaf {self.P.leaf[node_id]}>{suffix}"
                        if what == "node":
                            self.check_get(trial, name, node_id, body, "http")
                        else:
                            self.check_prove(trial, name, node_id, body, "http")
                    elif status >= 500:
                        code = find_code(body.decode(errors="replace"))
                        key = (f"http {what}", f"{status} {code}")
                        self.codes[key] = self.codes.get(key, 0) + 1
            try:
                status, body = http_get(port, "/v1/checkpoint", self.args.timeout)
                info["answers"].append({"path": "/v1/checkpoint", "status": status})
                if 200 <= status < 300:
                    self.check_checkpoint(trial, "GET /v1/checkpoint", body, "http")
            except (OSError, http.client.HTTPException) as ex:
                info["answers"].append({"path": "/v1/checkpoint", "error": str(ex)})
            st = {}
            for a in info["answers"]:
                k = str(a.get("status", "err"))
                st[k] = st.get(k, 0) + 1
            log(f"    http: statuses {st}")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            errf.close()
            with open(os.path.join(tdir, "serve.stderr"), "rb") as f:
                err = f.read().decode(errors="replace")
            if info["started"] and is_panic(0, err):
                self.finding(trial, "panic", command="serve (while answering)", rc=proc.returncode,
                             stderr=head(err, 8))
            shutil.rmtree(C3, ignore_errors=True)
        return info

    # -- main -------------------------------------------------------------------------------
    def run(self):
        t0 = time.monotonic()
        st = os.stat(self.evl)
        self.binary = {"path": self.evl, "sha256": sha256_file(self.evl),
                       "mtime": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(st.st_mtime))}
        log(f"evl binary {self.evl} (mtime {self.binary['mtime']}, sha256 {self.binary['sha256'][:16]}…)")
        log(f"workdir {self.workdir}; seed {self.args.seed}; {self.args.trials} trials")
        log("building the pristine ledger…")
        self.P = Pristine(self.runner, self.workdir, random.Random(f"{self.args.seed}-pristine"))
        self.P.build(n_nodes=self.args.nodes, store_format=self.args.store_format)
        log(f"  pristine: {len(self.P.ids)} leaves, {self.P.anchors} anchors, {len(self.P.redacted)} redacted, "
            f"store {self.P.store_bytes} bytes ({self.P.store_bytes // PAGE} pages), "
            f"built in {time.monotonic() - t0:.1f}s")

        log("control trial (no damage, with HTTP round): must find nothing…")
        ctl = self.trial(0, "none", True, control=True)
        bad = [c for c in ctl["commands"] if c["rc"] != 0 and not c["name"].startswith("get")]
        bad_get = [c for c in ctl["commands"] if c["name"].startswith("get") and c["rc"] != 0
                   and c.get("code") != "REDACTED"]
        if ctl["findings"] or bad or bad_get or not (ctl["http"] or {}).get("started"):
            log(json.dumps({"findings": ctl["findings"], "failed": bad + bad_get, "http": ctl["http"]},
                           indent=1, default=str)[:4000])
            sys.exit("the control trial is not clean: the oracles are wrong, stopping")
        self.findings.clear()
        self.codes.clear()
        self.rcs.clear()
        self.trials.clear()
        log(f"  control clean ({len(ctl['commands'])} commands)")

        t1 = time.monotonic()
        for n in range(1, self.args.trials + 1):
            kind = KINDS[(n - 1) % len(KINDS)]
            http_round = self.args.http_every > 0 and n % self.args.http_every == 0
            self.trial(n, kind, http_round)
            if n % 10 == 0:
                el = time.monotonic() - t1
                log(f"--- {n}/{self.args.trials} trials, {len(self.findings)} findings, {el:.0f}s elapsed, "
                    f"~{el / n * (self.args.trials - n):.0f}s left")
        self.elapsed = time.monotonic() - t0
        return self.report()

    def report(self):
        cats = ["panic", "store_changed", "unopenable_after_recover", "wrong_answer", "bad_pack", "timeout"]
        per_kind = {k: {"trials": 0, "noop": 0, **{c: 0 for c in cats}, "verify_full_fail": 0,
                        "status_fail": 0, "recover_ok": 0} for k in KINDS}
        for t in self.trials:
            pk = per_kind[t["damage"]["kind"]]
            pk["trials"] += 1
            pk["noop"] += bool(t["damage"].get("noop"))
            pk["verify_full_fail"] += t.get("verify_full_rc") != 0
            pk["status_fail"] += t.get("status_rc") != 0
            pk["recover_ok"] += t.get("recover_rc") == 0
            for f in t["findings"]:
                pk[f["category"]] += 1
        totals = {c: sum(1 for f in self.findings if f["category"] == c) for c in cats}
        headline = {
            "panics": totals["panic"],
            "stores_changed_by_read_only_commands": totals["store_changed"],
            "stores_made_unopenable_by_recover": totals["unopenable_after_recover"],
            "wrong_answers_with_success": totals["wrong_answer"],
            "backups_exports_that_do_not_verify": totals["bad_pack"],
            "timeouts": totals["timeout"],
        }
        http_trials = [t for t in self.trials if t["http"] is not None]
        http_refused = [t for t in http_trials if not t["http"].get("started")]
        summary = {
            "trials": len(self.trials), "per_kind": per_kind, "headline": headline,
            "clean_failures_by_command_and_code": {f"{c} | {k}": v for (c, k), v in sorted(self.codes.items())},
            "exit_codes_by_command": {f"{c} | {k}": v for (c, k), v in sorted(self.rcs.items(), key=str)},
            "http_rounds": len(http_trials), "http_server_refused_to_start": len(http_refused),
            "verify_full_ok_but_reads_failed": sum(1 for t in self.trials if t.get("verify_full_ok_but_reads_failed")),
            "elapsed_seconds": round(self.elapsed, 1),
        }
        report = {"binary": self.binary, "args": vars(self.args), "workdir": self.workdir,
                  "pristine": {"leaves": len(self.P.ids), "anchors": self.P.anchors,
                               "redacted": self.P.redacted, "records": self.P.records,
                               "store_bytes": self.P.store_bytes, "sha256": self.P.sha,
                               "dir": self.P.P, "backup": self.P.bak},
                  "summary": summary, "findings": self.findings, "trials": self.trials}
        if sha256_file(os.path.join(self.P.P, "ledger.redb")) != self.P.sha:
            log("WARNING: the pristine store changed during the campaign (pristine lookups are read-only)")
            report["pristine_changed"] = True
        if self.args.out:
            with open(self.args.out, "w") as f:
                json.dump(report, f, indent=1, default=lambda b: b.decode(errors="replace") if isinstance(b, bytes) else str(b))
            log(f"report written to {self.args.out}")

        # -- table --
        log("")
        log("=" * 110)
        hdr = (f"{'kind':<10} {'trials':>6} {'no-op':>5} {'status✗':>7} {'verify✗':>7} {'recov✓':>6} "
               f"{'panic':>5} {'changed':>7} {'unopen':>6} {'wrong':>5} {'badpack':>7} {'timeout':>7}")
        log(hdr)
        log("-" * len(hdr))
        for k in KINDS:
            p = per_kind[k]
            log(f"{k:<10} {p['trials']:>6} {p['noop']:>5} {p['status_fail']:>7} {p['verify_full_fail']:>7} "
                f"{p['recover_ok']:>6} {p['panic']:>5} {p['store_changed']:>7} {p['unopenable_after_recover']:>6} "
                f"{p['wrong_answer']:>5} {p['bad_pack']:>7} {p['timeout']:>7}")
        log("-" * len(hdr))
        log(f"{'total':<10} {len(self.trials):>6} {sum(p['noop'] for p in per_kind.values()):>5} "
            f"{sum(p['status_fail'] for p in per_kind.values()):>7} "
            f"{sum(p['verify_full_fail'] for p in per_kind.values()):>7} "
            f"{sum(p['recover_ok'] for p in per_kind.values()):>6} {totals['panic']:>5} "
            f"{totals['store_changed']:>7} {totals['unopenable_after_recover']:>6} {totals['wrong_answer']:>5} "
            f"{totals['bad_pack']:>7} {totals['timeout']:>7}")
        log("")
        log("headline counts:")
        for k, v in headline.items():
            log(f"  {k:<40} {v}")
        log(f"  {'http rounds (server refused to start)':<40} {len(http_trials)} ({len(http_refused)})")
        log(f"  {'verify --mode full OK but reads failed':<40} {summary['verify_full_ok_but_reads_failed']}")
        log("")
        log("clean failures (command | stable code): count")
        for k, v in summary["clean_failures_by_command_and_code"].items():
            log(f"  {k:<60} {v}")
        if self.findings:
            log("")
            log("findings:")
            for f in self.findings:
                log(f"  trial {f['trial']:>3} {f['category']:<24} {f['damage']}: {f.get('command')} rc={f.get('rc')} "
                    f"{(f.get('detail') or ' | '.join(f.get('stderr') or []))[:200]}")
        log(f"elapsed {self.elapsed:.0f}s; workdir {self.workdir}")
        bad = sum(headline.values())
        return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("evl", help="the evl binary to test")
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the JSON report here")
    ap.add_argument("--workdir", default=None, help="an empty or new directory (default: a new temp dir)")
    ap.add_argument("--timeout", type=float, default=60, help="per-command timeout in seconds (default 60)")
    ap.add_argument("--nodes", type=int, default=1500, help="x-campaign nodes in the pristine ledger")
    ap.add_argument("--http-every", type=int, default=5, help="HTTP round every N trials (0: never)")
    ap.add_argument("--keep-all", action="store_true", help="keep every trial directory")
    ap.add_argument("--store-format", type=int, choices=[1, 2], default=None,
                    help="`evl init --store-format N` for the pristine ledger (default: evl's default)")
    args = ap.parse_args()
    sys.exit(Campaign(args).run())


if __name__ == "__main__":
    main()
