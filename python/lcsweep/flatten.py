"""Result documents flattened into figure names, the naming every lcsweep tool
uses (the coordinator's results, the CLI's export, the dashboard):

- object keys join with ".": {"test": {"accuracy": 0.9}} -> "test.accuracy";
- an array element is "[LABEL]": the element's identifying keys (name,
  attack, corruption, eps, severity, layer, kind, steps, in that order) as
  key=value, numbers as %.6g, or its index when it has none; identifying keys
  label the element and are not figures themselves;
- numbers are figures; strings, booleans and null are not;
- the top-level "job" (the config echo) and "history" sections are left out.
"""

IDENTIFYING_KEYS = ("name", "attack", "corruption", "eps", "severity", "layer", "kind", "steps")
SKIPPED_SECTIONS = ("job", "history")


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _label_value(v):
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    return "%.6g" % v


def _element_label(e, index):
    if isinstance(e, dict):
        parts = ["%s=%s" % (k, _label_value(e[k])) for k in IDENTIFYING_KEYS
                 if k in e and (isinstance(e[k], str) or _is_number(e[k]))]
        if parts:
            return ",".join(parts), True
    return str(index), False


def flatten_result(result):
    """{figure name: float} of a result document (a dict parsed from JSON)."""
    out = {}
    stack = []
    if isinstance(result, dict):
        stack = [(v, k, False) for k, v in result.items() if k not in SKIPPED_SECTIONS]
    else:
        stack = [(result, "", False)]
    while stack:  # explicit stack: the document's depth is not ours to choose
        node, path, skip_identifying = stack.pop()
        if _is_number(node):
            if path:
                out[path] = float(node)
        elif isinstance(node, dict):
            for k, v in node.items():
                if skip_identifying and k in IDENTIFYING_KEYS:
                    continue
                stack.append((v, k if not path else path + "." + k, False))
        elif isinstance(node, list):
            for i, e in enumerate(node):
                label, by_keys = _element_label(e, i)
                stack.append((e, "%s[%s]" % (path, label), by_keys))
    return out
