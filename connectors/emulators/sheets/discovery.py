"""Google's published Sheets v4 discovery document as the emulator's referee.

Why: an emulator written from memory accepts what Google refuses (unknown fields, `"values": "X"`,
`majorDimension=BOGUS`), so a test passing against it proves little. Every Sheets request is
checked here against the document Google publishes, and refused with the message and
`google.rpc.BadRequest` details Google's front end sends; the same schemas check the emulator's
own answers in the contract tests.

The document is vendored, unmodified, as `reference/sheets.v4.json` (see `reference/README`): from
the `google-api-python-client` 2.202.0 wheel's discovery cache, revision 20261019. It is a file of
the emulator, not a dependency of the product: the sandbox validates with it too.

Message formats (Google's JSON-to-proto front end, as seen in published error reports):
- unknown body key: `Invalid JSON payload received. Unknown name "x" at 'requests[0]': Cannot
  find field.` (no ` at '...'` on the top level); paths use the proto (snake_case) field names;
- wrong JSON type or enum value: `Invalid value at 'data.values[0]'
  (type.googleapis.com/google.protobuf.ListValue), "A"`, scalars as `(TYPE_INT32)` and so on;
- unknown query parameter: `Invalid JSON payload received. Unknown name "x": Cannot bind query
  parameter. Field 'x' could not be found in request message.`
Several problems are reported together, one per line, each also a `fieldViolations` entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).with_name("reference") / "sheets.v4.json"
PROTO = "type.googleapis.com/google.apps.sheets.v4."
# Query and body enum fields -> the proto enum type Google names in "Invalid value" messages.
_ENUM_TYPES = {
    "majorDimension": "Dimension",
    "dimension": "Dimension",
    "valueInputOption": "ValueInputOption",
    "insertDataOption": "InsertDataOption",
    "valueRenderOption": "ValueRenderOption",
    "responseValueRenderOption": "ValueRenderOption",
    "dateTimeRenderOption": "DateTimeRenderOption",
    "responseDateTimeRenderOption": "DateTimeRenderOption",
    "sortOrder": "SortOrder",
    "sheetType": "SheetType",
}
# The request field a method's body is bound to ("" = the body is the request message itself).
_BODY_FIELD = {
    "sheets.spreadsheets.values.update": "data",
    "sheets.spreadsheets.values.append": "data",
}


# Proto oneofs the discovery document does not show: message -> (oneof name, members; None =
# every field). Setting two members is refused, as Google's JSON parser does.
_ONEOFS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "Request": ("kind", None),
    "ExtendedValue": ("value", None),
    "UpdateCellsRequest": ("area", ("start", "range")),
    "DataFilter": ("filter", None),
}


@dataclass(frozen=True)
class Violation:
    """One `google.rpc.BadRequest.FieldViolation`."""

    field: str
    description: str

    def as_json(self) -> dict[str, str]:
        out = {"field": self.field} if self.field else {}
        return {**out, "description": self.description}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


@dataclass
class Method:
    id: str
    http_method: str
    pattern: re.Pattern[str]
    literal: int  # characters of the path that are not parameters (more = more specific)
    parameters: dict[str, dict[str, Any]]
    request: str | None
    response: str | None


@dataclass
class Discovery:
    doc: dict[str, Any]
    methods: dict[str, Method] = field(default_factory=dict)

    def __post_init__(self) -> None:
        def walk(resource: dict[str, Any]) -> None:
            for m in (resource.get("methods") or {}).values():
                flat = "/" + str(m["flatPath"])
                regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", re.escape(flat))
                self.methods[m["id"]] = Method(
                    m["id"],
                    m["httpMethod"],
                    re.compile(regex + "$"),
                    len(re.sub(r"\{\w+\}", "", flat)),
                    dict(m.get("parameters") or {}),
                    (m.get("request") or {}).get("$ref"),
                    (m.get("response") or {}).get("$ref"),
                )
            for sub in (resource.get("resources") or {}).values():
                walk(sub)

        walk(self.doc)

    @property
    def revision(self) -> str:
        return str(self.doc.get("revision", ""))

    def schema(self, name: str) -> dict[str, Any]:
        return dict(self.doc["schemas"][name])

    def match(self, http_method: str, path: str) -> Method | None:
        """The documented method an HTTP method and path call (the most specific one)."""
        found = [
            m
            for m in self.methods.values()
            if m.http_method == http_method and m.pattern.match(path)
        ]
        return max(found, key=lambda m: m.literal) if found else None

    def unknown_paths(self, ref: str, mask: dict[str, Any]) -> list[str]:
        """The names in a parsed field mask that schema `ref` does not have."""
        props = self.schema(ref).get("properties") or {}
        bad: list[str] = []
        for name, sub in mask.items():
            if name == "*":
                continue
            spec = props.get(name)
            if spec is None:
                bad.append(name)
                continue
            while spec.get("type") == "array":
                spec = spec.get("items") or {}
            if sub and "$ref" in spec:
                bad += [f"{name}.{b}" for b in self.unknown_paths(str(spec["$ref"]), sub)]
            elif sub:
                bad += [f"{name}.{b}" for b in sub if b != "*"]
        return bad

    # ----- query -----------------------------------------------------------------------------
    def check_query(self, method: Method, query: dict[str, list[str]]) -> list[Violation]:
        out: list[Violation] = []
        common = self.doc.get("parameters") or {}
        for name, values in query.items():
            spec = method.parameters.get(name) or common.get(name)
            if spec is None or spec.get("location") == "path":
                out.append(
                    Violation(
                        "",
                        f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query '
                        f"parameter. Field '{name}' could not be found in request message.",
                    )
                )
                continue
            for value in values:
                label = _query_type_problem(name, spec, value)
                if label:
                    where = snake(name)
                    out.append(
                        Violation(
                            where, f"Invalid value at '{where}' ({label}), {json.dumps(value)}"
                        )
                    )
        return out

    # ----- bodies ----------------------------------------------------------------------------
    def check_request(self, method: Method, body: Any) -> list[Violation]:
        if method.request is None:
            return []
        out: list[Violation] = []
        self._check(body, {"$ref": method.request}, _BODY_FIELD.get(method.id, ""), out)
        return out

    def check_response(self, method: Method, body: Any) -> list[str]:
        """The emulator's answer against the documented response schema (contract tests)."""
        if method.response is None:
            return [] if body in (None, {}) else [f"{method.id}: answers a body, none documented"]
        out: list[Violation] = []
        self._check(body, {"$ref": method.response}, "", out, camel=True)
        return [f"{method.id}: {v.description}" for v in out]

    def _check(
        self,
        value: Any,
        spec: dict[str, Any],
        path: str,
        out: list[Violation],
        *,
        camel: bool = False,
    ) -> None:
        if value is None:
            return  # JSON null: the field's default, as proto3 JSON reads it
        ref = spec.get("$ref")
        if ref is not None:
            schema = self.schema(ref)
            if not isinstance(value, dict):
                out.append(_invalid(path, PROTO + ref, value))
                return
            props = schema.get("properties") or {}
            oneof = _ONEOFS.get(ref)
            if oneof is not None and not camel:
                name, members = oneof
                chosen = [k for k in value if (members is None or k in members) and k in props]
                if len(chosen) > 1:
                    text = (
                        f"Invalid value at '{path}' (oneof), oneof field '{name}' is already set. "
                        f"Cannot set '{chosen[1]}'"
                    )
                    out.append(Violation(path, text))
                    return
            for key, sub in value.items():
                if key not in props:
                    where = f" at '{path}'" if path else ""
                    message = f'Invalid JSON payload received. Unknown name "{key}"{where}: '
                    out.append(Violation(path, message + "Cannot find field."))
                    continue
                name = key if camel else snake(key)
                self._check(sub, props[key], _join(path, name), out, camel=camel)
            return
        kind = spec.get("type")
        if kind == "array":
            items = spec.get("items") or {}
            if not isinstance(value, list):
                # A list of lists or of any JSON is a protobuf ListValue on Google's side.
                lists = items.get("type") in ("array", "any")
                label = "type.googleapis.com/google.protobuf.ListValue" if lists else None
                out.append(_invalid(path, label or _label(items, path), value))
                return
            for i, item in enumerate(value):
                self._check(item, items, f"{path}[{i}]", out, camel=camel)
            return
        if kind == "object":
            extra = spec.get("additionalProperties")
            if not isinstance(value, dict):
                out.append(_invalid(path, "TYPE_MESSAGE", value))
            elif extra:
                for key, sub in value.items():
                    self._check(sub, extra, f"{path}[{key}]", out, camel=camel)
            return
        problem = _scalar_problem(spec, value, path.rpartition(".")[2])
        if problem:
            out.append(_invalid(path, problem, value))


def _label(spec: dict[str, Any], path: str) -> str:
    """How Google names a field's type in "Invalid value" messages."""
    if "$ref" in spec:
        return PROTO + str(spec["$ref"])
    kind = spec.get("type")
    if kind == "array":
        return "type.googleapis.com/google.protobuf.ListValue"
    if kind == "any":
        return "type.googleapis.com/google.protobuf.Value"
    if "enum" in spec:
        name = re.sub(r"\[\d+\]$", "", path.rpartition(".")[2])
        camel = re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)
        enum = _ENUM_TYPES.get(camel)
        return PROTO + enum if enum else "TYPE_ENUM"
    fmt = spec.get("format")
    return {
        "integer": "TYPE_INT32" if fmt != "uint32" else "TYPE_UINT32",
        "number": "TYPE_FLOAT" if fmt == "float" else "TYPE_DOUBLE",
        "boolean": "TYPE_BOOL",
    }.get(str(kind), "TYPE_INT64" if fmt == "int64" else "TYPE_STRING")


def _scalar_problem(spec: dict[str, Any], value: Any, path: str) -> str:
    """The type label if `value` is not a valid JSON value for the scalar `spec`, else ""."""
    kind = spec.get("type")
    ok: bool
    if kind == "any":
        ok = True
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "integer":
        ok = _is_int(value)
    elif kind == "number":
        ok = (isinstance(value, int | float) and not isinstance(value, bool)) or (
            isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity")
        )
    elif "enum" in spec:
        ok = (isinstance(value, str) and value in spec["enum"]) or (
            _is_int(value) and 0 <= int(value) < len(spec["enum"])
        )
    elif spec.get("format") == "int64":
        ok = _is_int(value)
    else:
        ok = isinstance(value, str)
    return "" if ok else _label(spec, path)


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None


def _query_type_problem(name: str, spec: dict[str, Any], value: str) -> str:
    kind = spec.get("type")
    if "enum" in spec and value not in spec["enum"]:
        enum = _ENUM_TYPES.get(name)
        return PROTO + enum if enum else "TYPE_ENUM"
    if kind == "boolean" and value not in ("true", "false", "True", "False", "1", "0"):
        return "TYPE_BOOL"
    if kind == "integer" and re.fullmatch(r"-?\d+", value) is None:
        return "TYPE_INT32"
    return ""


def _invalid(path: str, label: str, value: Any) -> Violation:
    shown = json.dumps(value) if not isinstance(value, dict | list) else _short(value)
    return Violation(path, f"Invalid value at '{path}' ({label}), {shown}")


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


@cache
def sheets_v4() -> Discovery:
    """The vendored Sheets v4 document, parsed once per process."""
    return Discovery(json.loads(REFERENCE.read_text(encoding="utf-8")))
