#!/usr/bin/env python3
"""Regenerates the field reference in docs/api.md from crds/*.yaml (between the markers).

A developer tool, not part of the build: run it after hack/update-crds.sh. Needs PyYAML.
"""
import json
import pathlib
import re
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
ORDER = ["virtualmachines", "shares", "quotas", "users", "hosts", "images"]


def constraints(s):
    out = []
    if "default" in s:
        out.append(f"default `{json.dumps(s['default'])}`")
    if "enum" in s:
        out.append("one of " + ", ".join(f"`{e}`" for e in s["enum"]))
    for key, label in (("minimum", "min"), ("maximum", "max"), ("minLength", "min length"),
                       ("maxLength", "max length"), ("maxItems", "max items")):
        if key in s:
            v = s[key]
            out.append(f"{label} {int(v) if isinstance(v, float) and v.is_integer() else v}")
    if "pattern" in s:
        out.append(f"pattern `{s['pattern']}`")
    for rule in s.get("x-kubernetes-validations", []):
        out.append(f"“{rule['message']}”")
    return "; ".join(out)


def type_of(s):
    t = s.get("type", "")
    if t == "array":
        return "list of " + type_of(s.get("items", {}))
    if t == "object" and "additionalProperties" in s:
        return "map of " + type_of(s["additionalProperties"])
    return t or "object"


def walk(schema, prefix, rows):
    for name, s in sorted(schema.get("properties", {}).items()):
        path = f"{prefix}.{name}" if prefix else name
        desc = (s.get("description") or "").replace("\n", " ").replace("|", "\\|")
        rows.append((path, type_of(s), constraints(s).replace("|", "\\|"), desc))
        if s.get("type") == "object" and "properties" in s:
            walk(s, path, rows)
        elif s.get("type") == "array" and "properties" in s.get("items", {}):
            walk(s["items"], path + "[]", rows)


def section(crd):
    spec = crd["spec"]
    version = spec["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]["properties"]
    names = spec["names"]
    lines = [f"### {names['kind']}", ""]
    scope = spec["scope"]
    short = ", ".join(names.get("shortNames", [])) or "none"
    lines.append(f"`{spec['group']}/{version['name']}`, {scope.lower()}, plural `{names['plural']}`, "
                 f"short names: {short}.")
    lines.append("")
    for part in ("spec", "status"):
        if part not in schema:
            continue
        rows = []
        walk(schema[part], "", rows)
        rules = schema[part].get("x-kubernetes-validations", [])
        lines += [f"**{part}**", "", "| field | type | validation and default | meaning |", "|---|---|---|---|"]
        lines += [f"| `{p}` | {t} | {c} | {d} |" for p, t, c, d in rows]
        if rules:
            lines.append("")
            lines.append("Rules across fields: " + "; ".join(f"“{r['message']}”" for r in rules) + ".")
        lines.append("")
    cols = version.get("additionalPrinterColumns", [])
    if cols:
        lines.append("`kubectl get` columns: " + ", ".join(
            c["name"] + (" (wide)" if c.get("priority", 0) else "") for c in cols) + ".")
        lines.append("")
    fields = version.get("selectableFields", [])
    if fields:
        lines.append("Field selectors: " + ", ".join(f"`{f['jsonPath'].lstrip('.')}`" for f in fields) + ".")
        lines.append("")
    return "\n".join(lines)


def main():
    crds = {p.name.split(".")[0]: yaml.safe_load(p.read_text())
            for p in (ROOT / "crds").glob("*.vmctl.dev.yaml")}
    body = "\n".join(section(crds[n]) for n in ORDER if n in crds)
    doc = ROOT / "docs" / "api.md"
    text = doc.read_text()
    start, end = "<!-- reference:start -->", "<!-- reference:end -->"
    new = re.sub(re.escape(start) + ".*" + re.escape(end),
                 start + "\n\n" + body + "\n" + end, text, flags=re.S)
    doc.write_text(new)


if __name__ == "__main__":
    main()
