"""PromQL as the chart's dashboard and PrometheusRule write it: which metrics, label matchers and
grouping labels an expression names, read without a Prometheus (monitoring_test.py checks them
against the /metrics of a running server). Grafana's variables ($job, ${datasource},
[$__rate_interval]) are understood where PromQL allows a value or a range."""
import re

PROMQL_AGGREGATORS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                      "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
PROMQL_FUNCTIONS = {
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time",
    "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month",
    "day_of_week", "day_of_year", "days_in_month", "deg", "delta", "deriv", "double_exponential_smoothing",
    "exp", "floor", "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile",
    "histogram_stddev", "histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta", "increase",
    "info", "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time",
    "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time",
    "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort",
    "sort_by_label", "sort_by_label_desc", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time",
    "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year"}
# keywords followed by a parenthesised list of label names
PROMQL_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
PROMQL_KEYWORDS = {"bool", "and", "or", "unless", "atan2", "offset"}
# Grafana's variables that may stand in PromQL (ranges, intervals)
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s", "__range_ms"}
# Functions whose argument must be a counter (or a histogram's _bucket/_sum/_count series)
COUNTER_FUNCTIONS = {"rate", "irate", "increase", "resets"}

PROMQL_TOKEN = re.compile(r"""
   (?P<ws>\s+)
 | (?P<comment>\#[^\n]*)
 | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
 | (?P<var>\$\{[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z0-9_]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[A-Za-z_][A-Za-z0-9_]*\]\])
 | (?P<dur>(?:[0-9]+(?:ms|s|m|h|d|w|y))+)
 | (?P<num>0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
 | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
 | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}\[\]@:])
""", re.X)


def promql_tokens(expr):
    toks, pos = [], 0
    while pos < len(expr):
        m = PROMQL_TOKEN.match(expr, pos)
        if not m:
            raise ValueError(f"cannot read {expr[pos:pos + 20]!r} at offset {pos}")
        if m.lastgroup not in ("ws", "comment"):
            toks.append((m.lastgroup, m.group()))
        pos = m.end()
    return toks


def promql_unquote(tok):
    kind, text = tok
    return text[1:-1] if kind == "str" else text


def analyze_promql(expr):
    """What a PromQL expression (with Grafana variables) names: a dict with
         refs:      [{"metric", "matchers": [(label, op, value)], "tok", "counter_fn"}] - every vector
                    selector (a bare identifier not followed by "(" and not a keyword is a metric name);
         groupings: [{"clause", "labels", "metrics"}] - every by/without/on/ignoring/group_* list, with the
                    metrics its labels must exist on (the aggregated argument for by/without; the whole
                    expression for the binary-matching lists);
         aggregated: set of indexes into refs that sit inside an aggregation's argument;
         variables: the Grafana variables used; errors: what could not be understood.
    Aggregations and function calls are recognised by name (PROMQL_AGGREGATORS, PROMQL_FUNCTIONS): an
    unknown identifier before "(" is reported, never taken for a metric."""
    out = {"refs": [], "groupings": [], "aggregated": set(), "variables": set(), "errors": []}
    try:
        toks = promql_tokens(expr)
    except ValueError as e:
        out["errors"].append(str(e))
        return out
    # Grafana variables, in label values ("$job") as well as in place of a range ([$__rate_interval])
    out["variables"] = {a or b or c for a, b, c in
                        re.findall(r"\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)|\[\[([A-Za-z_]\w*)\]\]", expr)}
    n, match, stack = len(toks), {}, []
    pairs = {")": "(", "]": "[", "}": "{"}
    for i, (k, v) in enumerate(toks):
        if k == "op" and v in "([{":
            stack.append(i)
        elif k == "op" and v in ")]}":
            if not stack or toks[stack[-1]][1] != pairs[v]:
                out["errors"].append(f"unbalanced {v!r}")
                return out
            j = stack.pop()
            match[i], match[j] = j, i
    if stack:
        out["errors"].append(f"unclosed {toks[stack[-1]][1]!r}")
        return out

    def is_op(i, v):
        return 0 <= i < n and toks[i] == ("op", v)

    def label_list(open_i):
        close, labels, expect_name = match[open_i], [], True
        for t in toks[open_i + 1:close]:
            if expect_name and t[0] in ("ident", "str"):
                labels.append(promql_unquote(t))
                expect_name = False
            elif not expect_name and t == ("op", ","):
                expect_name = True
            else:
                out["errors"].append(f"unexpected {t[1]!r} in a label list")
        return labels

    def matchers(open_i):
        close, found, i = match[open_i], [], open_i + 1
        while i < close:
            if toks[i] == ("op", ","):
                i += 1
                continue
            if (i + 2 < close + 1 and toks[i][0] in ("ident", "str") and toks[i + 1][0] == "op"
                    and toks[i + 1][1] in ("=", "!=", "=~", "!~") and toks[i + 2][0] == "str"):
                found.append((promql_unquote(toks[i]), toks[i + 1][1], promql_unquote(toks[i + 2])))
                i += 3
            else:
                out["errors"].append(f"cannot read the matcher at {toks[i][1]!r}")
                return found
        return found

    agg_spans = []  # (open, close) token spans of aggregation arguments
    pending = []    # (clause, labels, span or None = whole expression)
    i = 0
    while i < n:
        k, v = toks[i]
        if k == "op" and v == "[":        # a range or subquery: durations and variables only
            i = match[i] + 1
            continue
        if k == "op" and v == "{":        # a selector without a metric name before it
            ms = matchers(i)
            names = [val for lab, op, val in ms if lab == "__name__" and op == "="]
            if names:
                out["refs"].append({"metric": names[0], "matchers": ms, "tok": i, "counter_fn": None})
            else:
                out["errors"].append("a selector without a metric name")
            i = match[i] + 1
            continue
        if k != "ident":
            i += 1
            continue
        if v in PROMQL_LABEL_LISTS:
            if not is_op(i + 1, "("):
                if v in ("group_left", "group_right"):
                    i += 1
                    continue
                out["errors"].append(f"{v} without a label list")
                i += 1
                continue
            labels = label_list(i + 1)
            close = match[i + 1]
            span = None
            if v in ("by", "without"):
                if is_op(close + 1, "("):                    # sum by (l) (arg)
                    span = (close + 1, match[close + 1])
                elif is_op(i - 1, ")"):                      # sum (arg) by (l)
                    span = (match[i - 1], i - 1)
                else:
                    out["errors"].append(f"{v} ({', '.join(labels)}) is not attached to an aggregation")
            pending.append((v, labels, span))
            i = close + 1
            continue
        if v in PROMQL_KEYWORDS or v.lower() in ("inf", "nan"):
            if v == "offset":
                i += 1
            i += 1
            continue
        if is_op(i - 1, "@") and v in ("start", "end"):
            i += 1
            continue
        if v in PROMQL_AGGREGATORS and (is_op(i + 1, "(") or (i + 1 < n and toks[i + 1][1] in ("by", "without"))):
            j = i + 1
            if toks[j][1] in ("by", "without") and is_op(j + 1, "("):
                j = match[j + 1] + 1
            if is_op(j, "("):
                agg_spans.append((j, match[j]))
            else:
                out["errors"].append(f"aggregation {v} without an argument")
            i += 1
            continue
        if is_op(i + 1, "("):
            if v not in PROMQL_FUNCTIONS:
                out["errors"].append(f"unknown function {v}()")
            i += 1
            continue
        fn = toks[i - 2][1] if is_op(i - 1, "(") and i >= 2 and toks[i - 2][0] == "ident" else None
        ref = {"metric": v, "matchers": [], "tok": i, "counter_fn": fn if fn in COUNTER_FUNCTIONS else None}
        if is_op(i + 1, "{"):
            ref["matchers"] = matchers(i + 1)
            i = match[i + 1] + 1
        else:
            i += 1
        out["refs"].append(ref)
    for idx, ref in enumerate(out["refs"]):
        if any(a < ref["tok"] < b for a, b in agg_spans):
            out["aggregated"].add(idx)
    for clause, labels, span in pending:
        metrics = [r["metric"] for r in out["refs"] if span is None or span[0] < r["tok"] < span[1]]
        if not metrics:
            out["errors"].append(f"{clause} ({', '.join(labels)}) applies to no metric")
        out["groupings"].append({"clause": clause, "labels": labels, "metrics": metrics})
    return out


def grafana_variable_query(q):
    """label_values(SELECTOR, LABEL) -> (SELECTOR, LABEL); other variable query forms are refused."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", q, re.S)
    return (m.group(1), m.group(2)) if m else (None, None)
