#!/usr/bin/env python3
"""The documentation is walkable and complete.

  links  every relative link and every #anchor in README.md, docs/*.md, the chart's README and
         the other READMEs of the tree resolves: the file exists, and the anchor is a heading of
         that file as GitHub names it (lower case; punctuation other than '-' and '_' dropped;
         spaces become '-'; a repeated heading gets -1, -2, ...), or an explicit <a name|id>.
  flags  every flag that a command's --help prints (the binary's commands, from its own --help)
         appears in docs/ or the README as `--flag`.

Usage: docs_test.py SOURCE_DIR BINARY {links|flags}
"""
import os
import re
import subprocess
import sys

_failures = []


def check(cond, msg):
    print(("  ok   " if cond else "  FAIL ") + msg, flush=True)
    if not cond:
        _failures.append(msg)
    return cond


def finish():
    if _failures:
        print("\n%d check(s) failed:" % len(_failures))
        for f in _failures:
            print("  - " + f)
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def markdown_files(root):
    out = []
    for top in ["README.md", "docs", "charts", "test", "bench", "certs", "fuzz", "scripts"]:
        path = os.path.join(root, top)
        if os.path.isfile(path):
            out.append(path)
        elif os.path.isdir(path):
            for d, _, files in os.walk(path):
                out += [os.path.join(d, f) for f in files if f.endswith(".md")]
    return sorted(out)


FENCE = re.compile(r"^(```|~~~)")


def prose_lines(text):
    """The lines outside fenced code blocks."""
    inside = False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            inside = not inside
            continue
        if not inside:
            yield line


def github_slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"<[^>]+>", "", s)             # inline HTML
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)  # links keep their text
    s = s.replace("`", "")
    s = re.sub(r"[^\w\- ]", "", s, flags=re.UNICODE)
    return s.replace(" ", "-")


def anchors_of(path, cache={}):
    if path not in cache:
        names, seen = set(), {}
        text = open(path, encoding="utf-8").read()
        for line in prose_lines(text):
            m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
            if m:
                slug = github_slug(m.group(2))
                n = seen.get(slug, 0)
                seen[slug] = n + 1
                names.add(slug if n == 0 else "%s-%d" % (slug, n))
        for m in re.finditer(r'<a\s+(?:name|id)="([^"]+)"', text):
            names.add(m.group(1))
        cache[path] = names
    return cache[path]


LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def links(root):
    files = markdown_files(root)
    check(len(files) >= 3, "markdown files found (%d)" % len(files))
    total = 0
    for path in files:
        rel = os.path.relpath(path, root)
        text = "\n".join(prose_lines(open(path, encoding="utf-8").read()))
        # inline code is not a link
        text = re.sub(r"`[^`\n]*`", "", text)
        for m in LINK.finditer(text):
            target = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("//"):
                continue  # http:, https:, mailto: ...
            total += 1
            file_part, _, anchor = target.partition("#")
            dest = path if not file_part else os.path.normpath(
                os.path.join(os.path.dirname(path), file_part))
            if not check(os.path.exists(dest), "%s: link %s resolves to a file" % (rel, target)):
                continue
            if anchor:
                if dest.endswith(".md"):
                    check(anchor in anchors_of(dest),
                          "%s: anchor #%s is a heading of %s" % (rel, anchor, os.path.relpath(dest, root)))
                else:
                    check(re.match(r"^L\d+(-L\d+)?$", anchor) is not None,
                          "%s: anchor #%s into a non-markdown file is a line anchor" % (rel, anchor))
    check(total > 0, "relative links checked (%d)" % total)


def commands(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30).stdout
    section = out.split("Commands:", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in section.splitlines() if line.strip()]


def flags(root, binary):
    docs = ""
    for path in markdown_files(root):
        docs += open(path, encoding="utf-8").read() + "\n"
    cmds = commands(binary)
    check(len(cmds) >= 3, "the binary's commands: %s" % " ".join(cmds))
    for cmd in cmds:
        help_text = subprocess.run([binary, cmd, "--help"], capture_output=True, text=True,
                                   timeout=30).stdout
        names = sorted(set(re.findall(r"^\s+(--[a-z][a-z0-9-]*)", help_text, re.M)) - {"--help"})
        check(names, "%s --help lists flags" % cmd)
        for flag in names:
            check(re.search(re.escape(flag) + r"(?![a-z0-9-])", docs) is not None,
                  "%s %s is documented" % (cmd, flag))


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("links", "flags"):
        print(__doc__)
        sys.exit(2)
    root, binary, what = sys.argv[1:]
    if what == "links":
        links(root)
    else:
        flags(root, binary)
    finish()


if __name__ == "__main__":
    main()
