"""The SOQL subset the Salesforce emulator answers, apart from the org that holds the records.

Parsing and evaluating a query is a job of its own (a tokenizer, a recursive-descent parser,
Salesforce's comparison and sort rules) that does not need routes, sessions or seed data, so it
lives here and the emulator only hands it records. The subset: relationship fields
(`Account__r.Name`), child subqueries, WHERE with = != <> < > <= >= IN / NOT IN, LIKE,
AND / OR / NOT, parentheses, NULL, TRUE / FALSE, date and dateTime literals, ORDER BY
(ASC/DESC, NULLS FIRST/LAST), LIMIT and OFFSET. Like the real parser, it refuses AND and OR
mixed without parentheses, and answers a bad query with Salesforce's `MALFORMED_QUERY`. Valid
SOQL outside the subset (aggregate and other functions, GROUP BY, HAVING, WITH, FOR, USING
SCOPE, TYPEOF, date literals such as TODAY or LAST_N_DAYS:7, INCLUDES / EXCLUDES, semi-joins)
is answered with a 501 that says it is not modelled by the emulator, never as malformed.

Records are plain dicts; relationship paths are followed through a `FindRecord` callable, so the
engine never sees how the emulator stores its org.

Why one module of about 470 lines: the tokenizer, the parser and the evaluator share the
grammar's node types and one error shape, and each is read against the others (what the parser
accepts, the evaluator must answer); cut apart, each half would import the other's internals.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.emulators.base import EmulatorError

# A 15- or 18-character Salesforce id; two ids compare equal on their first 15 characters.
ID_PATTERN = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")

# Looks a record up by id (15 or 18 characters): its object name and fields, or None.
FindRecord = Callable[[object], tuple[str, dict[str, Any]] | None]


NOT_MODELLED = "NOT_MODELLED_BY_EMULATOR"
_CLAUSES = frozenset({"GROUP", "HAVING", "WITH", "FOR", "USING", "UPDATE", "TYPEOF"})
_DATE_LITERAL = re.compile(r"^(YESTERDAY|TODAY|TOMORROW|(LAST|THIS|NEXT)_\w+)(:\d+)?$", re.I)


def parse(text: str) -> Query:
    """The query in `text`; raises EmulatorError(400, ..., "MALFORMED_QUERY") if it is not SOQL,
    with the query and a caret under the token, as Salesforce words it."""
    try:
        return _Parser(text).parse()
    except _TokenError as exc:
        raise error_at(text, exc.pos, exc.code, exc.message) from None


def error_at(text: str, pos: int, code: str, message: str) -> EmulatorError:
    """Salesforce's query error: the query, a caret under position `pos`, row and column."""
    if pos < 0:
        return EmulatorError(400, message, code)
    where = f"\n{text}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n"
    return EmulatorError(400, where + message, code)


# ----- parsing ---------------------------------------------------------------------------
@dataclass
class Cond:
    """One WHERE node: a boolean joiner over `parts`, or a test of the field at `path`."""

    op: str  # and | or | not | in | not in | like | = | != | < | > | <= | >=
    parts: list[Cond] = field(default_factory=list)
    path: str = ""
    values: list[Any] = field(default_factory=list)


@dataclass
class Query:
    """A parsed SELECT; `order` holds (path, descending, nulls first or None for default)."""

    obj: str = ""
    fields: list[str] = field(default_factory=list)
    subqueries: list[Query] = field(default_factory=list)
    where: Cond | None = None
    order: list[tuple[str, bool, bool | None]] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<num>-?\d+(?:\.\d+)?)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?::\d+)?)
    |(?P<op><=|>=|!=|<>|=|<|>)
    |(?P<punct>[(),])""",
    re.X,
)
_STRING_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    "_": "\\_",
    "%": "\\%",
}


@dataclass(frozen=True)
class _Tok:
    kind: str  # str | datetime | date | num | ident | op | punct | eof
    text: str
    value: Any = None
    pos: int = -1  # where it starts in the query text


class _TokenError(EmulatorError):
    """A parse error at a known place; `parse` adds the query and the caret."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(400, message, "MALFORMED_QUERY")
        self.pos = pos


def _malformed(message: str, tok: _Tok | None = None) -> EmulatorError:
    return (
        _TokenError(message, tok.pos)
        if tok is not None
        else EmulatorError(400, message, "MALFORMED_QUERY")
    )


def _not_modelled(what: str) -> EmulatorError:
    return EmulatorError(
        501, f"{what} is valid SOQL but not modelled by the emulator", NOT_MODELLED
    )


def _unexpected(tok: _Tok) -> EmulatorError:
    """A token the subset does not expect: SOQL the emulator lacks, or simply malformed."""
    word = tok.text.upper()
    if tok.kind == "ident" and (word in _CLAUSES or word in ("INCLUDES", "EXCLUDES")):
        return _not_modelled(word)
    return _malformed(f"unexpected token: '{tok.text}'", tok)


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos] == "'":
            start = pos
            out, pos = [], pos + 1
            while True:
                if pos >= len(text):
                    raise _malformed("line 1:0 mismatched character '<EOF>' expecting '''")
                ch = text[pos]
                if ch == "'":
                    pos += 1
                    break
                if ch == "\\":
                    nxt = text[pos + 1 : pos + 2]
                    if nxt not in _STRING_ESCAPES:
                        raise _malformed(f"Invalid string literal: illegal escape sequence \\{nxt}")
                    out.append(_STRING_ESCAPES[nxt])
                    pos += 2
                    continue
                out.append(ch)
                pos += 1
            toks.append(_Tok("str", "'", "".join(out), start))
            continue
        m = _TOKEN.match(text, pos)
        if m is None:
            raise _malformed(f"unexpected token: '{text[pos : pos + 10]}'", _Tok("", "", None, pos))
        pos = m.end()
        kind = m.lastgroup or ""
        if kind == "ws":
            continue
        toks.append(_Tok(kind, m.group(), None, m.start()))
    toks.append(_Tok("eof", "<EOF>", None, len(text)))
    return toks


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokenize(text)
        self.i = 0

    def parse(self) -> Query:
        q = self._query()
        if self._peek().kind != "eof":
            raise _unexpected(self._peek())
        return q

    def _peek(self) -> _Tok:
        return self.toks[self.i]

    def _next(self) -> _Tok:
        tok = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return tok

    def _is_kw(self, word: str) -> bool:
        tok = self._peek()
        return tok.kind == "ident" and tok.text.upper() == word

    def _kw(self, word: str) -> None:
        if not self._is_kw(word):
            raise _unexpected(self._peek())
        self._next()

    def _punct(self, ch: str) -> None:
        tok = self._next()
        if tok.text != ch:
            raise _unexpected(tok)

    def _ident(self) -> str:
        tok = self._next()
        if tok.kind != "ident":
            raise _unexpected(tok)
        return tok.text

    def _int(self) -> int:
        tok = self._next()
        if tok.kind != "num" or not tok.text.isdigit():
            raise _unexpected(tok)
        return int(tok.text)

    def _query(self) -> Query:
        q = Query()
        self._kw("SELECT")
        while True:
            if self._peek().text == "(":
                self._next()
                q.subqueries.append(self._query())
                self._punct(")")
            else:
                name = self._ident()
                if self._peek().text == "(":
                    raise _not_modelled(f"the function {name}()")
                if name.upper() == "TYPEOF":
                    raise _not_modelled("TYPEOF")
                q.fields.append(name)
            if self._peek().text != ",":
                break
            self._next()
        self._kw("FROM")
        q.obj = self._ident()
        if self._is_kw("WHERE"):
            self._next()
            q.where = self._condition()
        if self._is_kw("ORDER"):
            self._next()
            self._kw("BY")
            while True:
                path, desc, nulls = self._ident(), False, None
                if self._is_kw("ASC") or self._is_kw("DESC"):
                    desc = self._next().text.upper() == "DESC"
                if self._is_kw("NULLS"):
                    self._next()
                    if not (self._is_kw("FIRST") or self._is_kw("LAST")):
                        raise _unexpected(self._peek())
                    nulls = self._next().text.upper() == "FIRST"
                q.order.append((path, desc, nulls))
                if self._peek().text != ",":
                    break
                self._next()
        if self._is_kw("LIMIT"):
            self._next()
            q.limit = self._int()
        if self._is_kw("OFFSET"):
            self._next()
            q.offset = self._int()
        return q

    def _condition(self) -> Cond:
        parts = [self._unary()]
        joiner = ""
        while self._is_kw("AND") or self._is_kw("OR"):
            word = self._peek().text.upper()
            if joiner and word != joiner:
                raise _unexpected(self._peek())
            joiner = word
            self._next()
            parts.append(self._unary())
        return Cond(joiner.lower(), parts) if joiner else parts[0]

    def _unary(self) -> Cond:
        if self._is_kw("NOT"):
            self._next()
            return Cond("not", [self._unary()])
        if self._peek().text == "(":
            self._next()
            cond = self._condition()
            self._punct(")")
            return cond
        path = self._ident()
        if self._is_kw("NOT") or self._is_kw("IN"):
            negate = self._is_kw("NOT")
            if negate:
                self._next()
            self._kw("IN")
            self._punct("(")
            values = [self._value()]
            while self._peek().text == ",":
                self._next()
                values.append(self._value())
            self._punct(")")
            return Cond("not in" if negate else "in", path=path, values=values)
        if self._is_kw("LIKE"):
            self._next()
            tok = self._next()
            if tok.kind != "str":
                raise _unexpected(tok)
            return Cond("like", path=path, values=[tok.value])
        tok = self._next()
        if tok.kind != "op":
            raise _unexpected(tok)
        return Cond("!=" if tok.text == "<>" else tok.text, path=path, values=[self._value()])

    def _value(self) -> Any:
        tok = self._next()
        if tok.kind == "str":
            return tok.value
        if tok.kind == "datetime":
            return datetime.fromisoformat(tok.text.replace("Z", "+00:00"))
        if tok.kind == "date":
            return date.fromisoformat(tok.text)
        if tok.kind == "num":
            return Decimal(tok.text)
        if tok.kind == "ident" and tok.text.upper() in ("NULL", "TRUE", "FALSE"):
            return {"NULL": None, "TRUE": True, "FALSE": False}[tok.text.upper()]
        if tok.kind == "ident" and _DATE_LITERAL.match(tok.text):
            raise _not_modelled(f"the date literal {tok.text}")
        if tok.kind == "ident" and tok.text.upper() == "SELECT":
            raise _not_modelled("a semi-join (IN with a subquery)")
        raise _unexpected(tok)


# ----- evaluation --------------------------------------------------------------------------
def matches(cond: Cond, rec: dict[str, Any], find: FindRecord) -> bool:
    """Whether `rec` satisfies the WHERE condition `cond`."""
    if cond.op == "and":
        return all(matches(c, rec, find) for c in cond.parts)
    if cond.op == "or":
        return any(matches(c, rec, find) for c in cond.parts)
    if cond.op == "not":
        return not matches(cond.parts[0], rec, find)
    value = field_value(rec, cond.path, find)
    if cond.op in ("in", "not in"):
        hit = any(_compare(value, "=", v) for v in cond.values)
        return hit if cond.op == "in" else not hit
    if cond.op == "like":
        return not _is_null(value) and bool(_like(str(cond.values[0])).fullmatch(str(value)))
    return _compare(value, cond.op, cond.values[0])


def select_rows(rows: list[dict[str, Any]], q: Query, find: FindRecord) -> list[dict[str, Any]]:
    """`rows` in ORDER BY order, cut to OFFSET and LIMIT."""
    for path, desc, nulls_first in reversed(q.order):
        nulls = [r for r in rows if _is_null(field_value(r, path, find))]
        rest = [r for r in rows if not _is_null(field_value(r, path, find))]
        keys = {id(r): _sort_key(field_value(r, path, find)) for r in rest}
        rest.sort(key=lambda r: keys[id(r)], reverse=desc)
        first = (not desc) if nulls_first is None else nulls_first
        rows = nulls + rest if first else rest + nulls
    rows = rows[q.offset :]
    return rows[: q.limit] if q.limit is not None else rows


def related(rec: dict[str, Any], rel: str, find: FindRecord) -> tuple[str, dict[str, Any]] | None:
    """The record behind a relationship name: via its lookup id, else an inline value."""
    lookup = rel[:-3] + "__c" if rel.lower().endswith("__r") else rel + "Id"
    found = find(rec.get(key_of(rec, lookup) or lookup))
    if found is not None:
        return found
    inline = rec.get(key_of(rec, rel) or rel)
    return ("Name", inline) if isinstance(inline, dict) else None


def field_value(rec: dict[str, Any], path: str, find: FindRecord) -> Any:
    """The value at a (possibly dotted) field path, None when a relationship is empty."""
    *rels, last = path.split(".")
    cur = rec
    for rel in rels:
        hit = related(cur, rel, find)
        if hit is None:
            return None
        cur = hit[1]
    return cur.get(key_of(cur, last) or last)


# ----- values ------------------------------------------------------------------------------
def _is_null(value: Any) -> bool:
    return value is None or value == ""


def _parse_dt(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _coerce(value: Any, lit: Any) -> tuple[Any, Any] | None:
    """Field value and literal as two comparable values, or None if they cannot be."""
    if isinstance(lit, bool):
        return (value if isinstance(value, bool) else str(value).lower() == "true"), lit
    if isinstance(lit, datetime):
        dt = _parse_dt(value)
        return (dt, lit) if dt else None
    if isinstance(lit, date):
        dt = _parse_dt(value)
        return (dt.date(), lit) if dt else None
    if isinstance(lit, Decimal):
        try:
            return Decimal(str(value)), lit
        except InvalidOperation:
            return None
    text, lit_text = str(value), str(lit)
    if ID_PATTERN.match(text) and ID_PATTERN.match(lit_text):
        return text[:15], lit_text[:15]
    return text.casefold(), lit_text.casefold()


def _compare(value: Any, op: str, lit: Any) -> bool:
    if lit is None:
        return _is_null(value) if op == "=" else (op == "!=" and not _is_null(value))
    if _is_null(value):
        return op == "!="
    pair = _coerce(value, lit)
    if pair is None:
        return op == "!="
    a, b = pair
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda x, y: bool(x == y),
        "!=": lambda x, y: bool(x != y),
        "<": lambda x, y: bool(x < y),
        ">": lambda x, y: bool(x > y),
        "<=": lambda x, y: bool(x <= y),
        ">=": lambda x, y: bool(x >= y),
    }
    return ops[op](a, b)


def _sort_key(value: Any) -> tuple[int, float, str]:
    if isinstance(value, bool):
        return (1, float(value), "")
    if isinstance(value, int | float | Decimal):
        return (1, float(value), "")
    dt = _parse_dt(value)
    if dt is not None:
        return (1, dt.timestamp(), "")
    return (2, 0.0, str(value).casefold())


def _like(pattern: str) -> re.Pattern[str]:
    out = []
    for part in re.split(r"(\\[%_]|%|_)", pattern):
        out.append({"%": ".*", "_": ".", "\\%": "%", "\\_": "_"}.get(part, re.escape(part)))
    return re.compile("".join(out), re.I | re.S)


def key_of(rec: dict[str, Any], name: str) -> str | None:
    """The record's own spelling of a field name: SOQL names are case-insensitive."""
    if name in rec:
        return name
    low = name.lower()
    return next((k for k in rec if k.lower() == low), None)
