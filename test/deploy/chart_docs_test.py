#!/usr/bin/python3
"""What the chart tells about itself: its README's table of values (current with values.yaml, a
description for every value, types that agree with values.schema.json) and its Artifact Hub
annotations in Chart.yaml (well-formed, and listing every image the chart runs).

Usage: chart_docs_test.py GROUP --source DIR [--helm PATH]
GROUP: readme, annotations (neither needs helm; see deploy_support.py for the tools and exit codes).
"""
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

from deploy_support import chart_meta, check, load_values, main

GENERATOR = os.path.join("scripts", "chart-readme.py")
BEGIN, END = "<!-- BEGIN values table", "<!-- END values table -->"
# README type words -> JSON schema types
SCHEMA_TYPES = {"int": "integer", "float": "number", "string": "string", "bool": "boolean", "list": "array",
                "object": "object"}
ARTIFACTHUB_CATEGORIES = {"ai-machine-learning", "database", "integration-delivery", "monitoring-logging",
                          "networking", "security", "storage", "streaming-messaging"}
ARTIFACTHUB_CHANGE_KINDS = {"added", "changed", "deprecated", "removed", "fixed", "security"}


def generator(t, chart, *flags):
    p = subprocess.run([sys.executable, os.path.join(t.source, GENERATOR), *flags, chart],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).strip()


def table_rows(readme):
    """[(key, type, default, description)] of the README's generated table."""
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    out = []
    for line in block.splitlines():
        if not line.startswith("| ") or line.startswith("| Key |"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        out.append(tuple(cells))
    return out


def schema_types(schema, key):
    """The JSON schema types a dotted key of values.yaml may take (null left out); None when the
    schema does not describe it."""
    node = schema
    for k in key.split("."):
        node = node.get("properties", {}).get(k)
        if node is None:
            return None
    alternatives = node.get("oneOf") or node.get("anyOf") or [node]
    types = set()
    for alt in alternatives:
        t = alt.get("type")
        types |= set(t) if isinstance(t, list) else {t} if t else set()
    return types - {"null"}


def copy_chart(t, name):
    d = os.path.join(t.tmp, name)
    shutil.copytree(t.chart, d)
    return d


def edit(path, old, new):
    with open(path) as f:
        text = f.read()
    check(old in text, f"the test's edit of {os.path.basename(path)} applies: {old!r}")
    with open(path, "w") as f:
        f.write(text.replace(old, new, 1))


def group_readme(t):
    """The chart's README.md is what scripts/chart-readme.py writes from values.yaml, every value
    has a description and a type the schema agrees with, and the check catches a stale table and a
    value without a description."""
    rc, out = generator(t, t.chart, "--check")
    check(rc == 0, f"{GENERATOR} --check: the chart's README is current and every value is described: {out[-2000:]}")
    with open(os.path.join(t.chart, "README.md")) as f:
        rows = table_rows(f.read())
    values = load_values(t)
    check(len(rows) > 50 and all(k.split(".")[0] in values for k, *_ in rows),
          f"the table has a row per value of values.yaml ({len(rows)} rows)")
    for top in values:
        check(any(k == top or k.startswith(top + ".") for k, *_ in rows), f"the table covers {top}")
    with open(os.path.join(t.chart, "values.schema.json")) as f:
        schema = json.load(f)
    for key, vtype, default, desc in rows:
        check(desc != "", f"{key} has a description")
        want = schema_types(schema, key)
        got = {SCHEMA_TYPES.get(w, w) for w in re.split(r"\s+or\s+", vtype)}
        check(want is not None and got == want,
              f"the README's type of {key} ({vtype}) is the schema's ({sorted(want or [])})")
    # the check fails when it must: a stale table, a value without a description, a null without a type
    stale = copy_chart(t, "stale")
    edit(os.path.join(stale, "values.yaml"), "\nlogLevel: info\n", "\nlogLevel: debug\n")
    rc, out = generator(t, stale, "--check")
    check(rc == 1 and "stale" in out and '`"debug"`' in out,
          f"--check refuses a README whose table no longer matches values.yaml: rc={rc} {out[-400:]!r}")
    undescribed = copy_chart(t, "undescribed")
    edit(os.path.join(undescribed, "values.yaml"), "# -- Log format: json or text.\n", "# Log format: json or text.\n")
    rc, out = generator(t, undescribed, "--check")
    check(rc == 1 and "logFormat has no `# --` description" in out,
          f"--check refuses a value without a `# --` description, naming it: rc={rc} {out[-400:]!r}")
    rc, out = generator(t, undescribed)
    check(rc == 1, f"the generator writes nothing while a value has no description: rc={rc}")
    untyped = copy_chart(t, "untyped")
    edit(os.path.join(untyped, "values.yaml"), "# -- (int) Largest request body", "# -- Largest request body")
    rc, out = generator(t, untyped, "--check")
    check(rc == 1 and "server.maxRequestBytes is null" in out,
          f"--check refuses a null default without a (type): rc={rc} {out[-400:]!r}")


def yaml_annotation(annotations, name):
    try:
        return yaml.safe_load(annotations.get(name, ""))
    except yaml.YAMLError as e:
        check(False, f"{name} is YAML: {e}")
        return None


def group_annotations(t):
    """Chart.yaml's Artifact Hub annotations, in the formats of artifacthub.io/docs/topics/annotations/helm."""
    meta = chart_meta(t)
    ann = meta.get("annotations", {})
    check(all(isinstance(v, str) for v in ann.values()), "every annotation is a string (Chart.yaml's rule)")
    check(ann.get("artifacthub.io/category") == "security" and ann["artifacthub.io/category"] in ARTIFACTHUB_CATEGORIES,
          f"artifacthub.io/category is security: {ann.get('artifacthub.io/category')}")
    check(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.+-]*", ann.get("artifacthub.io/license", "")) is not None,
          f"artifacthub.io/license is an SPDX identifier: {ann.get('artifacthub.io/license')}")
    links = yaml_annotation(ann, "artifacthub.io/links") or []
    check(links and all(set(l) == {"name", "url"} and l["url"].startswith("https://") for l in links),
          f"artifacthub.io/links: name and https url each: {links}")
    changes = yaml_annotation(ann, "artifacthub.io/changes") or []
    check(changes and all(set(c) <= {"kind", "description", "links"} and c.get("kind") in ARTIFACTHUB_CHANGE_KINDS
                          and isinstance(c.get("description"), str) and c["description"] for c in changes),
          f"artifacthub.io/changes: kind ({'/'.join(sorted(ARTIFACTHUB_CHANGE_KINDS))}) and description each: {changes}")
    images = yaml_annotation(ann, "artifacthub.io/images") or []
    check(images and all(set(i) <= {"name", "image", "platforms", "whitelisted"} and i.get("name") and i.get("image")
                         for i in images), f"artifacthub.io/images: name and image each: {images}")
    for i in images:
        check({"linux/amd64", "linux/arm64"} <= set(i.get("platforms", [])),
              f"{i.get('name')} runs on linux/amd64 and linux/arm64: {i.get('platforms')}")
        check(not i.get("image", "").endswith(":latest") and ":" in i.get("image", ""),
              f"{i.get('image')} has a tag other than latest (Artifact Hub scans no latest)")
    listed = {i.get("image") for i in images}
    values = load_values(t)
    default_image = f"{values['image']['repository']}:{meta['appVersion']}"
    check(default_image in listed, f"the default image {default_image} is listed: {sorted(listed)}")
    # (that every configuration runs only listed images is checked where they are rendered:
    # chart_render_test.py render)

GROUPS = {"readme": group_readme, "annotations": group_annotations}

if __name__ == "__main__":
    main(GROUPS)
