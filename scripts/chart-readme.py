#!/usr/bin/python3
"""Writes the table of values in a chart's README.md from the `# --` comments of its values.yaml.

Usage: scripts/chart-readme.py [--check] [CHART_DIR]    (default: charts/dynamodb-streams-webhook)

The comments follow helm-docs' conventions, so that helm-docs would read them the same way:

    # -- Description of the key below; it may go on over
    # the following comment lines, which are joined with spaces.
    # @default -- what the Default column says instead of the value (optional, after the text)
    key: value

    # -- (int) a type in parentheses first: needed where the default is null

Which keys get a row: every key whose value is a scalar, an empty list or an empty map; a
non-empty map or list only with a description of its own, and then its keys only where they have
their own description; the keys of an undescribed map are walked. Rows keep the order of
values.yaml. Type: bool, int, float, string, list or object (from the value, or the `(type)`);
Default: the value as compact JSON.

README.md keeps everything outside the two marker lines as written by hand; between them this
script puts the table. It refuses (exit 1, naming each key and its line) when a key that needs a
row has no `# --` description, or a null default has no `(type)`. --check writes nothing and exits
1 when README.md is not what it would write (it prints the difference); the deploy tests run it.
Python standard library and python3-yaml.
"""
import difflib
import json
import os
import re
import sys

import yaml

BEGIN = ("<!-- BEGIN values table: generated from values.yaml by scripts/chart-readme.py; "
         "edit the # -- comments there, not this table -->")
END = "<!-- END values table -->"
HEADER = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]


def comment_block(lines, line):
    """The comment lines directly above 0-based line `line` (no blank line between), top first."""
    out, i = [], line - 1
    while i >= 0 and lines[i].strip().startswith("#"):
        out.insert(0, lines[i].strip())
        i -= 1
    return out


def parse_doc(block):
    """(type or None, description, default text or None) from a comment block, or None when the
    block holds no `# --` line. Lines before the `# --` line are not part of it."""
    start = next((i for i, l in enumerate(block) if re.match(r"#\s*--(\s|$)", l)), None)
    if start is None:
        return None
    text, default = [re.sub(r"^#\s*--\s*", "", block[start])], None
    for l in block[start + 1:]:
        m = re.match(r"#\s*@default\s+--\s*(.*)$", l)
        if m:
            default = m.group(1).strip()
        elif default is None:
            text.append(re.sub(r"^#\s?", "", l))
    desc = re.sub(r"\s+", " ", " ".join(text)).strip()
    m = re.match(r"\(([^)]+)\)\s*(.*)$", desc)
    vtype, desc = (m.group(1), m.group(2)) if m else (None, desc)
    return vtype, desc, default


def value_type(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "object"
    return None


def key_path(prefix, key):
    key = str(key)
    return prefix + (f'"{key}"' if re.search(r"[.\s]", key) else key)


def rows(values_text):
    """([(key, type, default, description)], [error]) of a values.yaml text."""
    lines = values_text.splitlines()
    root = yaml.compose(values_text)
    values = yaml.safe_load(values_text) or {}
    out, errors = [], []

    def walk(node, data, prefix, described_parent):
        for key_node, value_node in node.value:
            key = yaml.safe_load(key_node.value) if key_node.tag != "tag:yaml.org,2002:str" else key_node.value
            v = data[key]
            path = key_path(prefix, key)
            line = key_node.start_mark.line
            doc = parse_doc(comment_block(lines, line))
            container = isinstance(v, (dict, list)) and len(v) > 0
            if doc is not None:
                vtype, desc, default = doc
                vtype = vtype or value_type(v)
                if vtype is None:
                    errors.append(f"values.yaml:{line + 1}: {path} is null: give its type, as in `# -- (int) ...`")
                if not desc:
                    errors.append(f"values.yaml:{line + 1}: {path} has an empty `# --` description")
                shown = default if default is not None else "`" + json.dumps(v, separators=(",", ":")) + "`"
                out.append((path, vtype or "", shown, desc))
            elif not container and not described_parent:
                errors.append(f"values.yaml:{line + 1}: {path} has no `# --` description above it")
            elif container and isinstance(v, list) and not described_parent:
                errors.append(f"values.yaml:{line + 1}: {path} (a non-empty list) has no `# --` description above it")
            if isinstance(v, dict) and v:
                walk(value_node, v, path + ".", described_parent or doc is not None)

    if not isinstance(root, yaml.MappingNode):
        return [], ["values.yaml is not a map"]
    walk(root, values, "", False)
    return out, errors


def cell(text):
    """Text for a table cell: `|` escaped everywhere, `<` and `>` outside code spans (where Markdown
    would take <release> for an HTML tag)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts).replace("|", "\\|")


def table(values_text):
    found, errors = rows(values_text)
    body = [f"| {cell(k)} | {cell(t)} | {cell(d)} | {cell(desc)} |" for k, t, d, desc in found]
    return "\n".join([BEGIN, ""] + HEADER + body + ["", END]), errors


def expected_readme(readme, values_text):
    """(README text with a fresh table, errors)."""
    new_table, errors = table(values_text)
    if BEGIN not in readme or END not in readme or readme.index(BEGIN) > readme.index(END):
        errors.append(f"README.md lacks the marker lines between which the table goes:\n{BEGIN}\n{END}")
        return readme, errors
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return head + new_table + tail, errors


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print(__doc__, file=sys.stderr)
        return 2
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    chart = args[0] if args else os.path.join(root, "charts", "dynamodb-streams-webhook")
    readme_path = os.path.join(chart, "README.md")
    with open(os.path.join(chart, "values.yaml")) as f:
        values_text = f.read()
    with open(readme_path) as f:
        readme = f.read()
    want, errors = expected_readme(readme, values_text)
    for e in errors:
        print(f"chart-readme: {e}", file=sys.stderr)
    if errors:
        return 1
    if check:
        if want != readme:
            sys.stdout.writelines(difflib.unified_diff(readme.splitlines(True), want.splitlines(True),
                                                       readme_path, readme_path + " (from values.yaml)"))
            print(f"chart-readme: {readme_path} is stale: run scripts/chart-readme.py", file=sys.stderr)
            return 1
        print(f"chart-readme: {readme_path} is current")
        return 0
    if want != readme:
        with open(readme_path, "w") as f:
            f.write(want)
        print(f"chart-readme: wrote {readme_path}")
    else:
        print(f"chart-readme: {readme_path} is current")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
