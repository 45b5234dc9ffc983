"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902), with the messages of the libraries
the apiserver uses where a client can see them (rule 6 of the package docstring)."""
import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        else:
            target[k] = merge_patch(target.get(k), v)
    return target


class _PatchError(Exception):
    def __init__(self, msg, bad_request=False):
        super().__init__(msg)
        self.bad_request = bad_request


def _pointer(path: str) -> list:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _PatchError(f"JSON pointer must be empty or start with a \"/\": {path}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, tokens, path):
    cur = doc
    for t in tokens:
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list) and t.isdigit() and int(t) < len(cur):
            cur = cur[int(t)]
        else:
            raise _PatchError(f"doc is missing path: {path}")
    return cur


def json_patch(doc: Any, ops: list) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise _PatchError("Unexpected kind: unknown", bad_request=True)
        kind, path = op["op"], op.get("path", "")
        if not isinstance(path, str):
            raise _PatchError("path is not a string", bad_request=True)
        toks = _pointer(path)

        def parent(toks=toks, path=path):
            if not toks:
                raise _PatchError(f"doc is missing path: {path}")
            return _walk(doc, toks[:-1], path), toks[-1]

        def put(value, toks=toks, path=path, replace=False):
            nonlocal doc
            if not toks:
                doc = value
                return
            con, last = parent(toks, path)
            if isinstance(con, dict):
                if replace and last not in con:
                    raise _PatchError(f"replace operation does not apply: doc is missing key: "
                                      f"{path}")
                con[last] = value
            elif isinstance(con, list):
                if last == "-" and not replace:
                    con.append(value)
                    return
                if not last.isdigit() or int(last) > len(con) - (1 if replace else 0):
                    raise _PatchError(f"index out of bounds: {path}")
                if replace:
                    con[int(last)] = value
                else:
                    con.insert(int(last), value)
            else:
                raise _PatchError(f"doc is missing path: {path}")

        def take(toks=toks, path=path):
            con, last = parent(toks, path)
            if isinstance(con, dict) and last in con:
                return con.pop(last)
            if isinstance(con, list) and last.isdigit() and int(last) < len(con):
                return con.pop(int(last))
            raise _PatchError(f"remove operation does not apply: doc is missing path: {path}")

        if kind == "add":
            put(copy.deepcopy(op.get("value")))
        elif kind == "remove":
            take()
        elif kind == "replace":
            if not toks:
                doc = copy.deepcopy(op.get("value"))
            else:
                put(copy.deepcopy(op.get("value")), replace=True)
        elif kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            if kind == "move":
                value = take(src, op.get("from", ""))
            else:
                value = copy.deepcopy(_walk(doc, src, op.get("from", "")))
            put(value)
        elif kind == "test":
            if _walk(doc, toks, path) != op.get("value"):
                raise _PatchError(f"testing value {path} failed: test failed")
        else:
            raise _PatchError(f"Unexpected kind: {kind}", bad_request=True)
    return doc
