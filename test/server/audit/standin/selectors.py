"""Label and field selectors of lists (rule 5 of the package docstring): labels.Parse's operators
(=, ==, !=, exists, !key, in, notin) and the two fields a custom resource supports
(metadata.name, metadata.namespace)."""
import re

from .fields import is_label_value, is_qualified_name
from .status import _goq


_SEL_TOKEN = re.compile(r"\s*(==|!=|=|!|,|\(|\)|[^\s=!,()]+)")


def parse_label_selector(text: str):
    """k8s.io/apimachinery/pkg/labels.Parse, the operators a client sends: `k=v`, `k==v`,
    `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, comma-separated. Returns a list of
    (key, op, values); ValueError on a syntax error or an invalid key or value."""
    toks = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _SEL_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"unable to parse requirement: invalid character at {pos}")
        toks.append(m.group(1))
        pos = m.end()
    reqs = []
    i = 0

    def need(cond, what):
        if not cond:
            found = toks[i] if i < len(toks) else "EOS"
            raise ValueError(f"unable to parse requirement: found '{found}', expected: {what}")

    def check_key(k):
        msgs = is_qualified_name(k)
        if msgs:
            raise ValueError(f"unable to parse requirement: key: Invalid value: {_goq(k)}: "
                             + "; ".join(msgs))

    def check_value(v):
        msgs = is_label_value(v)
        if msgs:
            raise ValueError(f"unable to parse requirement: values[0][{key}]: Invalid value: "
                             f"{_goq(v)}: " + "; ".join(msgs))

    while i < len(toks):
        if toks[i] == "!":
            i += 1
            need(i < len(toks) and toks[i] not in ("=", "==", "!=", "!", ",", "(", ")"),
                 "identifier after '!'")
            key = toks[i]
            check_key(key)
            reqs.append((key, "!", ()))
            i += 1
        else:
            need(toks[i] not in ("=", "==", "!=", ",", "(", ")"), "identifier")
            key = toks[i]
            check_key(key)
            i += 1
            if i >= len(toks) or toks[i] == ",":
                reqs.append((key, "exists", ()))
            elif toks[i] in ("=", "==", "!="):
                op = "!=" if toks[i] == "!=" else "="
                i += 1
                val = ""
                if i < len(toks) and toks[i] not in (",", "(", ")", "=", "==", "!=", "!"):
                    val = toks[i]
                    i += 1
                check_value(val)
                reqs.append((key, op, (val,)))
            elif toks[i] in ("in", "notin"):
                op = toks[i]
                i += 1
                need(i < len(toks) and toks[i] == "(", "'('")
                i += 1
                vals = []
                while True:
                    need(i < len(toks), "')'")
                    if toks[i] == ")":
                        i += 1
                        break
                    if toks[i] == ",":
                        i += 1
                        continue
                    check_value(toks[i])
                    vals.append(toks[i])
                    i += 1
                need(vals, "at least one value")
                reqs.append((key, op, tuple(vals)))
            else:
                need(False, "'=', '!=', '==', 'in', notin'")
        if i < len(toks):
            need(toks[i] == ",", "','")
            i += 1
            need(i < len(toks), "identifier")
    return reqs


def labels_match(reqs, labels: dict) -> bool:
    for key, op, vals in reqs:
        has = key in labels
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
        if op == "=" and (not has or labels[key] != vals[0]):
            return False
        if op == "!=" and has and labels[key] == vals[0]:
            return False
        if op == "in" and (not has or labels[key] not in vals):
            return False
        if op == "notin" and has and labels[key] in vals:
            return False
    return True


def parse_field_selector(text: str):
    """metadata.name and metadata.namespace with =, == or != (what a custom resource supports);
    anything else is 400 "field label not supported: X"."""
    reqs = []
    for part in [p for p in text.split(",") if p.strip()]:
        m = re.fullmatch(r"\s*([^=!\s]+)\s*(==|!=|=)\s*(.*?)\s*", part)
        if not m:
            raise ValueError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.groups()
        if field not in ("metadata.name", "metadata.namespace"):
            raise ValueError(f"field label not supported: {field}")
        reqs.append((field, "!=" if op == "!=" else "=", value))
    return reqs


def _fields_match(reqs, key: str) -> bool:
    ns, name = key.split("/", 1)
    for field, op, value in reqs:
        actual = name if field == "metadata.name" else ns
        if (actual == value) != (op == "="):
            return False
    return True
