"""The Prometheus text exposition format (0.0.4), read for the Python test suites: their one parser.

    parse(text)          -> Exposition: every sample with its labels, the # TYPE of every family,
                            and what is wrong with the text (unreadable lines, samples of no family)
    parse_metrics(text)  -> {"name{labels as written}": value}: the flat form the serve suites use
                            (test/server/serve/serve_support.py's Server.metrics() returns it)

Standard library only. A sample line is NAME[{LABELS}] VALUE [TIMESTAMP]; label values may hold
escaped quotes and braces; # HELP and other comments are skipped.
"""
import re
from collections import namedtuple

Sample = namedtuple("Sample", "name labels labels_text value")

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL_VALUE = r'"(?:[^"\\]|\\.)*"'
_SAMPLE = re.compile(r"(%s)(\{(?:[^\"}]|%s)*\})?\s+(\S+)(?:\s+(-?\d+))?\s*$" % (_NAME, _LABEL_VALUE))
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*(%s)\s*,?' % _LABEL_VALUE)
_SUFFIXES = ("_bucket", "_sum", "_count")


def _unescape(quoted):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), quoted[1:-1])


def _labels(text):
    """'{a="1",b="x\\"y"}' -> {"a": "1", "b": 'x"y'}; None when the text is not a label set."""
    if not text:
        return {}
    inner, out, pos = text[1:-1], {}, 0
    while pos < len(inner):
        m = _LABEL.match(inner, pos)
        if not m:
            return None
        out[m.group(1)] = _unescape(m.group(2))
        pos = m.end()
    return out


def family_of(name, types):
    """The family a sample belongs to: its own name, or a histogram's/summary's for _bucket, _sum
    and _count; None when no # TYPE line declares it."""
    if name in types:
        return name
    for suffix in _SUFFIXES:
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return None


def sample_type(name, types):
    """A sample's type: its family's, with the suffix for a histogram's or summary's series
    ("histogram_bucket", "summary_count", ...); None when no # TYPE line declares it."""
    family = family_of(name, types)
    if family is None:
        return None
    return types[family] + (name[len(family):] if family != name else "")


class Exposition:
    def __init__(self, types, samples, problems):
        self.types = types        # {family: "counter" | "gauge" | "histogram" | "summary" | "untyped"}
        self.samples = samples    # [Sample], in the order of the text
        self.problems = problems  # [str]

    def series(self):
        """{sample name: {label: set of the values it takes}}."""
        out = {}
        for s in self.samples:
            labels = out.setdefault(s.name, {})
            for k, v in s.labels.items():
                labels.setdefault(k, set()).add(v)
        return out

    def sample_type(self, name):
        return sample_type(name, self.types)


def parse(text):
    types, samples, problems = {}, [], []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) == 4:
                types[parts[2]] = parts[3]
            else:
                problems.append(f"unreadable TYPE line {line!r}")
            continue
        if not line.strip() or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        labels = _labels(m.group(2)) if m else None
        try:
            value = float(m.group(3)) if m else None
        except ValueError:
            value = None
        if labels is None or value is None:
            problems.append(f"unreadable sample line {line!r}")
            continue
        if family_of(m.group(1), types) is None:  # the # TYPE line comes before the family's samples
            problems.append(f"sample {m.group(1)} has no # TYPE line of its family before it")
        samples.append(Sample(m.group(1), labels, m.group(2) or "", value))
    return Exposition(types, samples, problems)


def parse_metrics(text):
    """{"name{labels as written}": value} of every sample."""
    return {s.name + s.labels_text: s.value for s in parse(text).samples}
