#!/usr/bin/env python3
"""Check that every citation of the spec names a section that exists.

The spec is SPEC.md (the index) plus its parts, docs/spec/*.md. Run from anywhere inside the
repository; Python 3 standard library only:

    python3 tests/check-spec-refs.py            # exit 0: all citations and links resolve
    python3 tests/check-spec-refs.py -v         # also print the counts per file

Sections. A section is defined by a markdown heading in a spec file whose text starts with its
number: `## 9. Evidence packs and exports` defines 9, `### 9.4 Export entries` defines 9.4,
`#### 9.4.2 Title` would define 9.4.2. Lettered headings (`## A. Title`, `### A.1 Title`) would
define A and A.1, and `§A.1` would cite one; the spec has none today. A number defined twice is
an error.

Citations. A citation is `§` or `§§` followed by a section number (`§9`, `§9.4`, `§14.10`).
Which `§` are citations of the spec:

1. In the spec files (SPEC.md, docs/spec/*.md) every `§N` is, unless the text right before it
   names another document: an RFC number (`RFC 9162 §2.1.3`) or a file name ending in .md or
   .txt other than a spec file's (`docs/vex-ingest.md §8`, `CONSENSUS.md §3`).
2. In every other file a `§N` is a spec citation only when the word right before it (at most 3
   non-word characters between them; a line break plus the next line's indentation and comment
   marker such as `///` counts as one space) is `SPEC`, `SPEC.md` or a path ending in
   `spec/<part>.md`: `SPEC.md §9.4`, `(SPEC §3.4)`, `SPEC.md\n/// §15.5`,
   `docs/spec/packs.md §9.4`. A bare `§2` in other documents (docs/vex-ingest.md numbers its
   own sections; code comments cite RFC sections and, in passing, the spec) is not checked.
3. A citation continues as a list or range, and every member is checked with it:
   `SPEC.md §3.4, §9.4`, `§2 then §4.3`, `§5.1 rules 3 and 5, §6.3`, `§14.6–14.8`, `§3–§8`,
   `§9.1-9.3` (both ends checked; a shorter end such as `§14.6–8` replaces the last
   components), and `§§5.1, 5.2` (after `§§` the members need no `§`). Between two members
   only a separator (`,` `;` `/` `and` `or` `then`) may stand, optionally after a qualifier
   `rule(s)`/`step(s)`/`item(s)` with its numbers. A range end (`–` or `-`) must follow the
   number directly. A list keeps the kind of its first member: in `RFC 4648 §4, §5` both are
   the RFC's.

Scanned files: `git ls-files` (tracked, plus untracked files not ignored, so new parts count
before they are committed) ending in .rs .md .py .sh .toml .yaml .yml .json .txt .mjs .js, and
`.ci/run`; skipped as data: vectors/imported/, tests/data/, fuzz/corpus/, fuzz/artifacts/,
fuzz/regressions/, and the non-script files of fuzz/seeds.d/.

Links. Every markdown link `[text](target)` in the spec files outside code (fenced blocks and
inline code spans) whose target has no URL scheme must name an existing file, relative to the
linking file; a `#anchor` must match a heading of the target file under GitHub's slug rules
(lower case; characters other than letters, digits, spaces, `-` and `_` removed; spaces become
`-`; the n-th repeat of a slug gets `-n`).

Exit status: 0 when everything resolves, 1 otherwise (each fault printed as file:line: ...),
2 on a usage error.
"""

import os
import re
import subprocess
import sys

EXTENSIONS = (".rs", ".md", ".py", ".sh", ".toml", ".yaml", ".yml", ".json", ".txt", ".mjs", ".js")
EXTRA_FILES = (".ci/run",)
SKIP_PREFIXES = (
    "vectors/imported/",
    "tests/data/",
    "fuzz/corpus/",
    "fuzz/artifacts/",
    "fuzz/regressions/",
    "target/",
)
SCRIPT_EXTENSIONS = (".sh", ".py")

# A section number in a heading: `9`, `9.4`, `9.4.2`, or lettered `A.` / `A.1`.
SECTION_HEADING_RE = re.compile(r"^(\d+(?:\.\d+)*\.?|[A-Z](?:\.\d+)+\.?|[A-Z]\.)(?=\s)")
FENCE_RE = re.compile(r"^\s*(```|~~~)")

# One member of a citation: a number, optionally a range end directly after it.
NUM = r"(?:\d+|[A-Z](?=\.\d))(?:\.\d+)*"
MEMBER_RE = re.compile(r"(" + NUM + r")(?:[–-]§?(" + NUM + r"))?")
START_RE = re.compile(r"§(§?)(?=\d|[A-Z]\.\d)")
# What may stand between two members of one citation list.
QUALIFIER = r"(?:\s*(?:'s)?\s+(?:rules?|steps?|items?)\s+" + NUM + r"(?:\s*(?:,|–|-|and|or)\s*" + NUM + r")*)?"
SEPARATOR = r"\s*(?:,\s*(?:and\s+|or\s+|then\s+)?|;\s*|/\s*|\s(?:and|or|then)\s+)"
CONTINUE_RE = re.compile(QUALIFIER + SEPARATOR + r"(§?)(?=\d|[A-Z]\.\d)")
TOKEN_BEFORE_RE = re.compile(r"([\w./-]+)\W{0,3}$")
EXTERNAL_BEFORE_RE = re.compile(r"(?:\bRFC\s?\d+|\.(?:md|txt))[ \t]*$")
COMMENT_LEAD_RE = re.compile(r"^\s*(?://[/!]?|#|\*|--)?\s*")
LINK_RE = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN_RE = re.compile(r"(`+)(?:.+?)\1")


def repo_root():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=here, capture_output=True, text=True, check=True,
        ).stdout.strip()
        if out:
            return out
    except (OSError, subprocess.CalledProcessError):
        pass
    return os.path.dirname(here)


def list_files(root):
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, check=True,
        ).stdout.decode("utf-8", "surrogateescape")
        paths = sorted(set(p for p in out.split("\0") if p))
    except (OSError, subprocess.CalledProcessError):
        paths = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".git")]
            for name in filenames:
                paths.append(os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/"))
        paths.sort()
    return paths


def spec_files(root):
    files = ["SPEC.md"]
    part_dir = os.path.join(root, "docs", "spec")
    if os.path.isdir(part_dir):
        files += sorted("docs/spec/" + n for n in os.listdir(part_dir) if n.endswith(".md"))
    return [f for f in files if os.path.isfile(os.path.join(root, f))]


def wanted(path):
    if path.startswith(SKIP_PREFIXES):
        return False
    if path.startswith("fuzz/seeds.d/") and not path.endswith(SCRIPT_EXTENSIONS):
        return False
    return path in EXTRA_FILES or path.endswith(EXTENSIONS)


def read_lines(root, path):
    try:
        with open(os.path.join(root, path), "rb") as f:
            data = f.read()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", "replace").split("\n")


def outside_fences(lines):
    """Yields (line number, line) for the markdown lines outside fenced code blocks."""
    fence = None
    for i, line in enumerate(lines, 1):
        m = FENCE_RE.match(line)
        if m:
            if fence is None:
                fence = m.group(1)
            elif m.group(1) == fence:
                fence = None
            continue
        if fence is None:
            yield i, line


def headings(lines):
    """Yields (line number, level, text) for the markdown headings outside fenced code."""
    for i, line in outside_fences(lines):
        h = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if h:
            yield i, len(h.group(1)), h.group(2)


def github_slugs(lines):
    slugs, seen = set(), {}
    for _, _, text in headings(lines):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link's text only
        text = re.sub(r"<[^>]+>", "", text)
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        slugs.add(slug if n == 0 else "%s-%d" % (slug, n))
    return slugs


def expand_end(start, end):
    """`14.6`–`8` means 14.6–14.8: a shorter end replaces the last components of the start."""
    s, e = start.split("."), end.split(".")
    if len(e) < len(s):
        e = s[: len(s) - len(e)] + e
    return ".".join(e)


def normalize(lines):
    """Joins the lines into one text in which a line break plus the next line's indentation
    and comment marker is one space; returns the text and, per character, its line number."""
    parts, owners = [], []
    for i, line in enumerate(lines, 1):
        if i > 1:
            lead = COMMENT_LEAD_RE.match(line).end()
            line = " " + line[lead:]
        parts.append(line)
        owners.append((i, len(line)))
    text = "".join(parts)
    line_of = []
    for i, n in owners:
        line_of.extend([i] * n)
    return text, line_of


def names_spec(before, in_spec, part_names):
    """Whether a citation whose chain starts after `before` cites the spec (rules 1 and 2)."""
    t = TOKEN_BEFORE_RE.search(before)
    token = t.group(1) if t else ""
    name = token.rsplit("/", 1)[-1]
    if name in ("SPEC", "SPEC.md") or re.search(r"(?:^|/)spec/[\w-]+\.md$", token):
        return True
    if not in_spec:
        return False
    if name in part_names:
        return True
    return not EXTERNAL_BEFORE_RE.search(before)


def citations(lines, in_spec, part_names=()):
    """Yields (line number, cited text, section) for each spec citation member in the file."""
    text, line_of = normalize(lines)
    pos = 0
    while True:
        m = START_RE.search(text, pos)
        if not m:
            return
        is_spec = names_spec(text[max(0, m.start() - 60): m.start()], in_spec, part_names)
        double = bool(m.group(1))
        at = m.end()
        start_of_chain = m.start()
        while True:
            mm = MEMBER_RE.match(text, at)
            if not mm:
                break
            if is_spec:
                cited = text[start_of_chain: mm.end()]
                line = line_of[min(mm.start(), len(line_of) - 1)]
                yield line, cited, mm.group(1)
                if mm.group(2):
                    yield line, cited, expand_end(mm.group(1), mm.group(2))
            at = mm.end()
            c = CONTINUE_RE.match(text, at)
            if not c or (not c.group(1) and not double):
                break
            start_of_chain = c.end() - len(c.group(1))
            at = c.end()
        pos = max(at, m.end())


def check_links(root, path, lines, slug_cache):
    """Returns the faults of the relative links in a spec file, and how many it checked."""
    faults = []
    checked = 0
    base = os.path.dirname(path)
    for i, line in outside_fences(lines):
        for lm in LINK_RE.finditer(CODE_SPAN_RE.sub("", line)):
            target = lm.group(2)
            if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):
                continue  # http:, https:, mailto:
            checked += 1
            file_part, _, anchor = target.partition("#")
            target_path = os.path.normpath(os.path.join(base, file_part)) if file_part else path
            full = os.path.join(root, target_path)
            if file_part and not os.path.exists(full):
                faults.append("%s:%d: link to a missing file: %s" % (path, i, target))
                continue
            if anchor and os.path.isfile(full) and target_path.endswith(".md"):
                if target_path not in slug_cache:
                    slug_cache[target_path] = github_slugs(read_lines(root, target_path) or [])
                if anchor not in slug_cache[target_path]:
                    faults.append("%s:%d: link to a missing anchor: %s" % (path, i, target))
    return faults, checked


def main(argv):
    verbose = False
    for a in argv[1:]:
        if a in ("-v", "--verbose"):
            verbose = True
        else:
            print("usage: %s [-v]" % argv[0], file=sys.stderr)
            return 2
    root = repo_root()
    specs = spec_files(root)
    if "SPEC.md" not in specs:
        print("SPEC.md not found under %s" % root, file=sys.stderr)
        return 2

    part_names = set(os.path.basename(p) for p in specs)
    faults = []
    defined = {}
    for path in specs:
        for i, _, text in headings(read_lines(root, path) or []):
            h = SECTION_HEADING_RE.match(text)
            if not h:
                continue
            num = h.group(1).rstrip(".")
            if num in defined:
                faults.append("%s:%d: section %s is also defined at %s" % (path, i, num, defined[num]))
            else:
                defined[num] = "%s:%d" % (path, i)

    total = broken = files_citing = 0
    per_file = []
    for path in list_files(root):
        if not wanted(path):
            continue
        lines = read_lines(root, path)
        if lines is None:
            continue
        n = 0
        for line, cited, num in citations(lines, path in specs, part_names):
            n += 1
            if num not in defined:
                broken += 1
                faults.append("%s:%d: %s: no section %s" % (path, line, cited, num))
        if n:
            files_citing += 1
            total += n
            per_file.append((path, n))

    links = 0
    slug_cache = {}
    for path in specs:
        lines = read_lines(root, path) or []
        link_faults, checked = check_links(root, path, lines, slug_cache)
        faults.extend(link_faults)
        links += checked

    for f in faults:
        print(f)
    if verbose:
        for path, n in per_file:
            print("  %5d  %s" % (n, path))
    print(
        "check-spec-refs: %d sections defined in %d spec files; %d citations in %d files, "
        "%d resolve, %d do not; %d relative links in the spec files; %d faults in total"
        % (len(defined), len(specs), total, files_citing, total - broken, broken, links, len(faults))
    )
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
