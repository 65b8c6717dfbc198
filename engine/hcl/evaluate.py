"""A small, safe evaluator for Terraform expressions, as python-hcl2 (8.x) hands them over.

python-hcl2 8 serializes a configuration into Python values in which every expression is a string:
literal strings keep their quotes (`'"t3.large"'`), other expressions are wrapped in `${...}`
(`'${var.count * 2}'`), a bare single identifier stays bare (`'tags'`), numbers, booleans and null
are Python values, and tuple/object constructors written directly as an attribute value are Python
lists/dicts whose keys follow the same rules. This module parses those strings into a small AST
(the HCL expression grammar: literals, templates with interpolation and directives, heredocs,
traversals, splats, function calls, tuple/object constructors, `for` expressions, conditionals,
unary and binary operators) and evaluates it against a scope.

Anything that cannot be known without a plan evaluates to `Unknown`, which propagates through
every operation; an invalid operation (a missing attribute, a wrong type) raises `EvalError`, which
`try()`/`can()` catch and which otherwise turns the value into `Unknown`. Nothing is guessed, and
nothing is executed: there is no I/O and no function outside the fixed table below.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
from functools import lru_cache
from typing import Any, Callable, Iterator

from tollgate.engine.bounded_regex import MATCH_TIMEOUT as REGEX_TIMEOUT
from tollgate.engine.bounded_regex import engine as regex_engine

__all__ = [
    "Unknown",
    "EvalError",
    "Namespace",
    "Computed",
    "Scope",
    "Node",
    "evaluate",
    "compile_value",
    "compile_key",
    "parse_expression",
    "references",
    "contains_unknown",
    "unknown_from",
    "convert_type",
    "to_number",
    "to_bool",
    "to_string",
]


# --- values ------------------------------------------------------------------------------------
class Unknown:
    """A value only Terraform knows at plan or apply time. `causes` say why, for the report."""

    __slots__ = ("causes",)

    def __init__(self, *causes: str) -> None:
        self.causes = causes

    def __repr__(self) -> str:
        return f"Unknown({'; '.join(self.causes)})"


class EvalError(Exception):
    """An expression Terraform would reject (or cannot evaluate): a missing attribute, a wrong type."""


class Computed(dict):  # type: ignore[type-arg]
    """The attributes of a resource (or module outputs): an attribute that is not configured is
    computed by the provider, so reading it gives Unknown rather than an error."""

    __slots__ = ("label",)

    def __init__(self, values: dict[str, Any], label: str) -> None:
        super().__init__(values)
        self.label = label

    def missing(self, name: str) -> Unknown:
        return Unknown(f"{self.label}.{name} is known only after apply")


class Namespace:
    """A lazily resolved name space: `var`, `local`, `module`, a resource type, `data.<type>`."""

    __slots__ = ("label", "_get")

    def __init__(self, label: str, get: Callable[[str], Any]) -> None:
        self.label = label
        self._get = get

    def get(self, name: str) -> Any:
        return self._get(name)


def unknown_from(*values: Any) -> Unknown:
    """One Unknown carrying the causes of every Unknown among `values` (at most a few)."""
    causes: list[str] = []
    for value in values:
        if isinstance(value, Unknown):
            for cause in value.causes:
                if cause not in causes:
                    causes.append(cause)
    return Unknown(*causes[:4])


def contains_unknown(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, Unknown):
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def first_unknown(value: Any) -> Unknown | None:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, Unknown):
            return node
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


# Past any quantity a configuration means, and float() of it still works: `pow(10, 400)` is an
# evaluation error (the value is unknown), not an OverflowError in whatever reads it next.
_NUMBER_LIMIT = 2**1023


def _number(value: float | int) -> int | float:
    if isinstance(value, int):
        if -_NUMBER_LIMIT < value < _NUMBER_LIMIT:
            return value
        raise EvalError("number is out of range")
    if value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def to_number(value: Any) -> int | float:
    if isinstance(value, bool) or value is None:
        raise EvalError(f"a number is required, got {type_name(value)}")
    if isinstance(value, int):
        return _number(value)
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return _number(float(text))
        except ValueError:
            raise EvalError(f"cannot convert {value!r} to a number") from None
    raise EvalError(f"a number is required, got {type_name(value)}")


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value == "true":
        return True
    if value == "false":
        return False
    raise EvalError(f"a bool is required, got {type_name(value)}")


def format_number(value: int | float) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**63:
            return str(int(value))
        return repr(value)
    return str(value)


def to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(value)
    raise EvalError(f"a string is required, got {type_name(value)}")


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


# --- AST ---------------------------------------------------------------------------------------
class Node:
    """AST nodes are plain slotted classes: defining them must cost nothing at import time
    (the pre-commit path), and they are never mutated after parsing."""

    __slots__: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Lit(Node):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Bad(Node):
    """An expression that could not be parsed: evaluates to Unknown, never raises."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


class Template(Node):
    __slots__ = ("parts",)

    def __init__(self, parts: tuple[Any, ...]) -> None:
        self.parts = parts


class IfPart:
    __slots__ = ("condition", "then", "otherwise")

    def __init__(self, condition: Node, then: tuple[Any, ...], otherwise: tuple[Any, ...]) -> None:
        self.condition = condition
        self.then = then
        self.otherwise = otherwise


class ForPart:
    __slots__ = ("key", "value", "collection", "body")

    def __init__(self, key: str | None, value: str, collection: Node, body: tuple[Any, ...]) -> None:
        self.key = key
        self.value = value
        self.collection = collection
        self.body = body


class Root(Node):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class GetAttr(Node):
    __slots__ = ("obj", "name")

    def __init__(self, obj: Node, name: str) -> None:
        self.obj = obj
        self.name = name


class Index(Node):
    __slots__ = ("obj", "key")

    def __init__(self, obj: Node, key: Node) -> None:
        self.obj = obj
        self.key = key


class Splat(Node):
    __slots__ = ("source", "each")

    def __init__(self, source: Node, each: Node) -> None:
        self.source = source
        self.each = each


class Call(Node):
    __slots__ = ("name", "args", "expand")

    def __init__(self, name: str, args: tuple[Node, ...], expand: bool) -> None:
        self.name = name
        self.args = args
        self.expand = expand


class TupleCons(Node):
    __slots__ = ("items",)

    def __init__(self, items: tuple[Node, ...]) -> None:
        self.items = items


class ObjectCons(Node):
    __slots__ = ("items",)

    def __init__(self, items: tuple[tuple[Node, Node], ...]) -> None:
        self.items = items


class ForTuple(Node):
    __slots__ = ("key", "value", "collection", "body", "condition")

    def __init__(self, key: str | None, value: str, collection: Node, body: Node, condition: Node | None) -> None:
        self.key = key
        self.value = value
        self.collection = collection
        self.body = body
        self.condition = condition


class ForObject(Node):
    __slots__ = ("key", "value", "collection", "key_expr", "value_expr", "condition", "group")

    def __init__(self, key: str | None, value: str, collection: Node, key_expr: Node, value_expr: Node, condition: Node | None, group: bool) -> None:
        self.key = key
        self.value = value
        self.collection = collection
        self.key_expr = key_expr
        self.value_expr = value_expr
        self.condition = condition
        self.group = group


class Conditional(Node):
    __slots__ = ("condition", "then", "otherwise")

    def __init__(self, condition: Node, then: Node, otherwise: Node) -> None:
        self.condition = condition
        self.then = then
        self.otherwise = otherwise


class Binary(Node):
    __slots__ = ("op", "left", "right")

    def __init__(self, op: str, left: Node, right: Node) -> None:
        self.op = op
        self.left = left
        self.right = right


class Unary(Node):
    __slots__ = ("op", "operand")

    def __init__(self, op: str, operand: Node) -> None:
        self.op = op
        self.operand = operand


_SPLAT = "\x00splat"


# --- parser ------------------------------------------------------------------------------------
class _ParseError(Exception):
    pass


_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUMBER_RE = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_HEREDOC_RE = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n")
_BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("==", "!="),
    ("<=", ">=", "<", ">"),
    ("+", "-"),
    ("*", "/", "%"),
)


class _Parser:
    """Recursive descent over the expression text, without a separate tokenizer: templates nest
    expressions and expressions nest templates, which a scanner-less parser handles directly."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.n = len(text)
        # Inside `{ ... }` object constructors newlines separate items; inside ( ) and [ ] they do not.
        self.newline_ends = False

    # lexical helpers
    def ws(self) -> bool:
        """Skip blanks and comments; True if a newline was crossed."""
        newline = False
        s, n = self.s, self.n
        while self.i < n:
            ch = s[self.i]
            if ch in " \t\r":
                self.i += 1
            elif ch == "\n":
                newline = True
                self.i += 1
            elif ch == "#" or s.startswith("//", self.i):
                end = s.find("\n", self.i)
                self.i = n if end < 0 else end
            elif s.startswith("/*", self.i):
                end = s.find("*/", self.i + 2)
                if end < 0:
                    raise _ParseError("unterminated comment")
                newline = newline or "\n" in s[self.i : end]
                self.i = end + 2
            else:
                break
        return newline

    def at(self, token: str) -> bool:
        self.ws()
        return self.s.startswith(token, self.i)

    def eat(self, token: str) -> bool:
        if self.at(token):
            self.i += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.eat(token):
            found = self.s[self.i : self.i + 12] or "end of expression"
            raise _ParseError(f"expected {token!r} at {found!r}")

    def ident(self) -> str | None:
        self.ws()
        match = _IDENT_RE.match(self.s, self.i)
        if not match:
            return None
        self.i = match.end()
        return match.group(0)

    def peek_ident(self) -> str | None:
        self.ws()
        match = _IDENT_RE.match(self.s, self.i)
        return match.group(0) if match else None

    def stop_here(self) -> bool:
        """Inside an object constructor a newline ends the item's value expression. Looks back
        over the blanks just skipped, so the answer does not depend on who skipped them first."""
        self.ws()
        if not self.newline_ends:
            return False
        j = self.i - 1
        while j >= 0 and self.s[j] in " \t\r\n":
            if self.s[j] == "\n":
                return True
            j -= 1
        return False

    # grammar
    def parse(self) -> Node:
        node = self.expression()
        self.ws()
        if self.i != self.n:
            raise _ParseError(f"unexpected {self.s[self.i:self.i + 12]!r}")
        return node

    def expression(self) -> Node:
        condition = self.binary(0)
        if self.stop_here():
            return condition
        if self.s.startswith("?", self.i):
            self.i += 1
            saved = self.newline_ends
            self.newline_ends = False
            then = self.expression()
            self.expect(":")
            self.newline_ends = saved
            otherwise = self.expression()
            return Conditional(condition, then, otherwise)
        return condition

    def binary(self, level: int) -> Node:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        operators = _BINARY_LEVELS[level]
        while True:
            if self.stop_here():
                return left
            op = next((o for o in operators if self.s.startswith(o, self.i)), None)
            if op is None:
                return left
            self.i += len(op)
            right = self.binary(level + 1)
            left = Binary(op, left, right)

    def unary(self) -> Node:
        self.ws()
        if self.s.startswith("!", self.i) and not self.s.startswith("!=", self.i):
            self.i += 1
            return Unary("!", self.unary())
        if self.s.startswith("-", self.i):
            self.i += 1
            return Unary("-", self.unary())
        return self.postfix(self.term())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.stop_here():
                return node
            s, i = self.s, self.i
            if s.startswith("[*]", i) or (s.startswith("[", i) and _is_splat_bracket(s, i)):
                self.i = s.index("]", i) + 1
                return Splat(node, self.splat_chain(full=True))
            if s.startswith(".*", i):
                self.i += 2
                return Splat(node, self.splat_chain(full=False))
            if s.startswith("...", i):
                return node
            if s.startswith(".", i):
                self.i += 1
                self.ws()
                number = _NUMBER_RE.match(s, self.i)
                if number and "." not in number.group(0):
                    self.i = number.end()
                    node = Index(node, Lit(int(number.group(0))))
                    continue
                name = self.ident()
                if name is None:
                    raise _ParseError("expected an attribute name after '.'")
                node = GetAttr(node, name)
                continue
            if s.startswith("[", i):
                self.i += 1
                saved = self.newline_ends
                self.newline_ends = False
                key = self.expression()
                self.expect("]")
                self.newline_ends = saved
                node = Index(node, key)
                continue
            return node

    def splat_chain(self, full: bool) -> Node:
        node: Node = Root(_SPLAT)
        while True:
            if self.stop_here():
                return node
            s, i = self.s, self.i
            if s.startswith(".", i) and not s.startswith("...", i) and not s.startswith(".*", i):
                self.i += 1
                number = _NUMBER_RE.match(s, self.i)
                if number and "." not in number.group(0):
                    self.i = number.end()
                    node = Index(node, Lit(int(number.group(0))))
                    continue
                name = self.ident()
                if name is None:
                    raise _ParseError("expected an attribute name after '.'")
                node = GetAttr(node, name)
                continue
            if full and s.startswith("[", i) and not s.startswith("[*]", i):
                self.i += 1
                saved = self.newline_ends
                self.newline_ends = False
                key = self.expression()
                self.expect("]")
                self.newline_ends = saved
                node = Index(node, key)
                continue
            return node

    def term(self) -> Node:
        self.ws()
        s, i = self.s, self.i
        if i >= self.n:
            raise _ParseError("unexpected end of expression")
        ch = s[i]
        if ch == '"':
            self.i += 1
            return self.template('"')
        if s.startswith("<<", i):
            return self.heredoc()
        if ch == "(":
            self.i += 1
            saved = self.newline_ends
            self.newline_ends = False
            inner = self.expression()
            self.expect(")")
            self.newline_ends = saved
            return inner
        if ch == "[":
            self.i += 1
            return self.tuple_or_for()
        if ch == "{":
            self.i += 1
            return self.object_or_for()
        number = _NUMBER_RE.match(s, i)
        if number:
            self.i = number.end()
            text = number.group(0)
            if number.group(1) or number.group(2):
                return Lit(_number(float(text)))
            # 300+ digits is past _NUMBER_LIMIT anyway; as a float (inf) it stays a value that is
            # not a whole count instead of an integer too long for int() to read.
            return Lit(int(text) if len(text) <= 300 else float(text))
        name = self.ident()
        if name is None:
            raise _ParseError(f"unexpected {s[i:i + 12]!r}")
        if name == "true":
            return Lit(True)
        if name == "false":
            return Lit(False)
        if name == "null":
            return Lit(None)
        # provider-defined functions: provider::aws::arn_parse(...)
        while self.s.startswith("::", self.i):
            self.i += 2
            more = self.ident()
            if more is None:
                raise _ParseError("expected a function name after '::'")
            name = f"{name}::{more}"
        if self.s.startswith("(", self.i) or (not self.newline_ends and self.at("(")):
            self.expect("(")
            return self.call(name)
        return Root(name)

    def call(self, name: str) -> Node:
        saved = self.newline_ends
        self.newline_ends = False
        args: list[Node] = []
        expand = False
        while not self.eat(")"):
            args.append(self.expression())
            if self.eat("..."):
                expand = True
            if not self.eat(","):
                self.expect(")")
                break
        self.newline_ends = saved
        return Call(name, tuple(args), expand)

    def _for_header(self) -> tuple[str | None, str, Node]:
        self.ident()  # "for"
        first = self.ident()
        if first is None:
            raise _ParseError("expected a name after 'for'")
        second = None
        if self.eat(","):
            second = self.ident()
            if second is None:
                raise _ParseError("expected a second name in 'for'")
        if self.ident() != "in":
            raise _ParseError("expected 'in'")
        collection = self.expression()
        self.expect(":")
        if second is None:
            return None, first, collection
        return first, second, collection

    def _is_for(self) -> bool:
        self.ws()
        match = _IDENT_RE.match(self.s, self.i)
        if not match or match.group(0) != "for":
            return False
        rest = self.s[match.end() :].lstrip()
        return bool(_IDENT_RE.match(rest))

    def tuple_or_for(self) -> Node:
        saved = self.newline_ends
        self.newline_ends = False
        try:
            if self._is_for():
                key, value, collection = self._for_header()
                body = self.expression()
                condition = self.expression() if self._eat_keyword("if") else None
                self.expect("]")
                return ForTuple(key, value, collection, body, condition)
            items: list[Node] = []
            while not self.eat("]"):
                items.append(self.expression())
                if not self.eat(","):
                    self.expect("]")
                    break
            return TupleCons(tuple(items))
        finally:
            self.newline_ends = saved

    def _eat_keyword(self, word: str) -> bool:
        self.ws()
        match = _IDENT_RE.match(self.s, self.i)
        if match and match.group(0) == word:
            self.i = match.end()
            return True
        return False

    def object_or_for(self) -> Node:
        saved = self.newline_ends
        try:
            if self._is_for():
                self.newline_ends = False
                key, value, collection = self._for_header()
                key_expr = self.expression()
                self.expect("=>")
                value_expr = self.expression()
                group = self.eat("...")
                condition = self.expression() if self._eat_keyword("if") else None
                self.expect("}")
                return ForObject(key, value, collection, key_expr, value_expr, condition, group)
            items: list[tuple[Node, Node]] = []
            while True:
                self.newline_ends = False
                if self.eat("}"):
                    break
                item_key = self.object_key()
                if not (self.eat("=") or self.eat(":")):
                    raise _ParseError("expected '=' or ':' after an object key")
                self.newline_ends = True
                items.append((item_key, self.expression()))
                self.newline_ends = False
                self.eat(",")
            return ObjectCons(tuple(items))
        finally:
            self.newline_ends = saved

    def object_key(self) -> Node:
        self.ws()
        match = _IDENT_RE.match(self.s, self.i)
        if match:
            after = self.s[match.end() :].lstrip(" \t")
            if (after.startswith("=") and not after.startswith("==")) or (after.startswith(":") and not after.startswith("::")):
                self.i = match.end()
                return Lit(match.group(0))
        return self.expression()

    # templates
    def template(self, quote: str) -> Node:
        parts, end = self.template_parts(quote, ())
        if end is not None:
            raise _ParseError(f"unexpected %{{ {end} }}")
        return Template(tuple(parts))

    def template_parts(self, quote: str, stops: tuple[str, ...]) -> tuple[list[Any], str | None]:
        """Literal text and interpolations up to the closing quote (or heredoc end when quote is
        empty), or up to a directive keyword in `stops` (returned)."""
        parts: list[Any] = []
        buffer: list[str] = []
        s, n = self.s, self.n
        strip_next = False

        def flush() -> None:
            nonlocal strip_next
            if buffer:
                text = "".join(buffer)
                if strip_next:
                    text = text.lstrip()
                parts.append(text)
                buffer.clear()
            strip_next = False

        while True:
            if self.i >= n:
                if quote:
                    raise _ParseError("unterminated string")
                flush()
                return parts, None
            ch = s[self.i]
            if quote and ch == quote:
                self.i += 1
                flush()
                return parts, None
            if quote and ch == "\\":
                buffer.append(self.escape())
                continue
            if s.startswith("$${", self.i) or s.startswith("%%{", self.i):
                buffer.append(s[self.i + 1 : self.i + 3])
                self.i += 3
                continue
            if s.startswith("${", self.i):
                self.i += 2
                if s.startswith("~", self.i):
                    self.i += 1
                    if buffer:
                        buffer[:] = ["".join(buffer).rstrip()]
                flush()
                saved = self.newline_ends
                self.newline_ends = False
                parts.append(self.expression())
                self.newline_ends = saved
                strip_next = self._close_interpolation()
                continue
            if s.startswith("%{", self.i):
                self.i += 2
                if s.startswith("~", self.i):
                    self.i += 1
                    if buffer:
                        buffer[:] = ["".join(buffer).rstrip()]
                flush()
                keyword = self.ident()
                if keyword in stops and keyword in ("else", "endif", "endfor"):
                    strip_next = self._close_interpolation()
                    return parts, keyword
                if keyword == "if":
                    condition = self.expression()
                    strip_next = self._close_interpolation()
                    then, end = self.template_parts(quote, ("else", "endif"))
                    otherwise: list[Any] = []
                    if end == "else":
                        otherwise, end = self.template_parts(quote, ("endif",))
                    if end != "endif":
                        raise _ParseError("missing %{ endif }")
                    parts.append(IfPart(condition, tuple(then), tuple(otherwise)))
                    continue
                if keyword == "for":
                    first = self.ident()
                    second = self.ident() if self.eat(",") else None
                    if first is None or self.ident() != "in":
                        raise _ParseError("bad %{ for } directive")
                    collection = self.expression()
                    strip_next = self._close_interpolation()
                    body, end = self.template_parts(quote, ("endfor",))
                    if end != "endfor":
                        raise _ParseError("missing %{ endfor }")
                    key, value = (first, second) if second else (None, first)
                    parts.append(ForPart(key, value, collection, tuple(body)))
                    continue
                raise _ParseError(f"unsupported template directive {keyword!r}")
            buffer.append(ch)
            self.i += 1

    def _close_interpolation(self) -> bool:
        self.ws()
        strip = False
        if self.s.startswith("~", self.i):
            strip = True
            self.i += 1
        self.expect("}")
        return strip

    def escape(self) -> str:
        s = self.s
        code = s[self.i + 1 : self.i + 2]
        simple = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
        if code in simple:
            self.i += 2
            return simple[code]
        if code in ("u", "U"):
            width = 4 if code == "u" else 8
            digits = s[self.i + 2 : self.i + 2 + width]
            try:
                point = int(digits, 16)
                char = chr(point)
            except ValueError:
                raise _ParseError("bad unicode escape") from None
            if 0xD800 <= point <= 0xDFFF:  # not a character: nothing downstream could encode it
                raise _ParseError(f"bad unicode escape \\{code}{digits}: a surrogate, not a character")
            self.i += 2 + width
            return char
        raise _ParseError(f"bad escape \\{code}")

    def heredoc(self) -> Node:
        match = _HEREDOC_RE.match(self.s, self.i)
        if not match:
            raise _ParseError("bad heredoc")
        marker = match.group(2)
        end = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*$", re.MULTILINE).search(self.s, match.end())
        if end is None:
            raise _ParseError(f"heredoc {marker} is not terminated")
        body = self.s[match.end() : end.start()]
        self.i = end.end()
        if match.group(1):
            body = _dedent(body)
        inner = _Parser(body)
        parts, stop = inner.template_parts("", ())
        if stop is not None:
            raise _ParseError(f"unexpected %{{ {stop} }}")
        return Template(tuple(parts))


def _is_splat_bracket(s: str, i: int) -> bool:
    j = i + 1
    while j < len(s) and s[j] in " \t":
        j += 1
    if j < len(s) and s[j] == "*":
        j += 1
        while j < len(s) and s[j] in " \t":
            j += 1
        return j < len(s) and s[j] == "]"
    return False


def _dedent(body: str) -> str:
    lines = body.split("\n")
    indents = [len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(line[cut:] for line in lines)


@lru_cache(maxsize=8192)
def parse_expression(text: str) -> Node:
    """Parse one HCL expression. Never raises: text that does not parse becomes a `Bad` node."""
    try:
        return _Parser(text).parse()
    except (_ParseError, RecursionError, ValueError, IndexError) as error:
        return Bad(f"cannot read expression {text[:60]!r}: {error}")


@lru_cache(maxsize=8192)
def _compile_string(text: str) -> Node:
    if text.startswith("${") and text.endswith("}"):
        node = parse_expression(text[2:-1])
        if not isinstance(node, Bad):
            return node
        quoted = parse_expression('"' + text.replace('"', '\\"') + '"')
        return node if isinstance(quoted, Bad) else quoted
    return parse_expression(text)


def compile_value(value: Any) -> Node:
    """A python-hcl2 value (string expression, list, dict, scalar) -> AST."""
    if isinstance(value, str):
        return _compile_string(value)
    if isinstance(value, list):
        return TupleCons(tuple(compile_value(item) for item in value))
    if isinstance(value, dict):
        return ObjectCons(
            tuple((compile_key(k), compile_value(v)) for k, v in value.items() if not k.startswith("__"))
        )
    return Lit(value)


def compile_key(key: str) -> Node:
    """An object key as python-hcl2 writes it: bare identifier, quoted template or `${expr}`."""
    if key.startswith('"') or key.startswith("${"):
        return _compile_string(key)
    return Lit(key)


# --- evaluation --------------------------------------------------------------------------------
class Scope:
    """Names visible to an expression: local bindings (count, each, for-expression variables,
    dynamic-block iterators) over a root resolver (var, local, module, data, resources...)."""

    __slots__ = ("bindings", "parent", "resolver")

    def __init__(
        self,
        resolver: Callable[[str], Any] | None = None,
        bindings: dict[str, Any] | None = None,
        parent: Scope | None = None,
    ) -> None:
        self.bindings: dict[str, Any] = bindings or {}
        self.parent = parent
        self.resolver: Callable[[str], Any] | None = resolver if resolver is not None else (parent.resolver if parent else None)

    def child(self, bindings: dict[str, Any]) -> Scope:
        return Scope(None, bindings, self)

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.bindings:
                return scope.bindings[name]
            scope = scope.parent
        if self.resolver is None:
            raise EvalError(f"unknown name {name!r}")
        return self.resolver(name)


EMPTY_SCOPE = Scope()


def evaluate(node: Node, scope: Scope) -> Any:
    """Evaluate `node`; Unknown for what needs a plan. Raises EvalError for invalid expressions."""
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Template):
        return _template(node.parts, scope)
    if isinstance(node, GetAttr):
        return _get_attr(evaluate(node.obj, scope), node.name)
    if isinstance(node, Root):
        return scope.lookup(node.name)
    if isinstance(node, Index):
        return _index(evaluate(node.obj, scope), evaluate(node.key, scope))
    if isinstance(node, Call):
        return _call(node, scope)
    if isinstance(node, ObjectCons):
        result: dict[str, Any] = {}
        for key_node, value_node in node.items:
            key = evaluate(key_node, scope)
            if isinstance(key, Unknown):
                return key
            result[_object_key(key)] = evaluate(value_node, scope)
        return result
    if isinstance(node, TupleCons):
        return [evaluate(item, scope) for item in node.items]
    if isinstance(node, Conditional):
        return _conditional(node, scope)
    if isinstance(node, Binary):
        return _binary(node, scope)
    if isinstance(node, Unary):
        return _unary(node, scope)
    if isinstance(node, Splat):
        return _splat(node, scope)
    if isinstance(node, ForTuple):
        return _for_tuple(node, scope)
    if isinstance(node, ForObject):
        return _for_object(node, scope)
    if isinstance(node, Bad):
        return Unknown(node.message)
    raise EvalError(f"cannot evaluate {type(node).__name__}")


def evaluate_safely(node: Node, scope: Scope) -> Any:
    """Evaluate; an invalid expression or an evaluator limit gives Unknown instead of an exception."""
    try:
        return evaluate(node, scope)
    except EvalError as error:
        return Unknown(str(error))
    except RecursionError:
        return Unknown("expression nests too deeply")


def _object_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, (bool, int, float)):
        return to_string(key)
    raise EvalError(f"an object key must be a string, got {type_name(key)}")


def _get_attr(obj: Any, name: str) -> Any:
    if isinstance(obj, Unknown):
        return obj
    if isinstance(obj, Namespace):
        return obj.get(name)
    if isinstance(obj, dict):
        if name in obj:
            return obj[name]
        if isinstance(obj, Computed):
            return obj.missing(name)
        raise EvalError(f"object has no attribute {name!r}")
    if obj is None:
        raise EvalError(f"cannot read attribute {name!r} of null")
    raise EvalError(f"cannot read attribute {name!r} of a {type_name(obj)}")


def _index(obj: Any, key: Any) -> Any:
    if isinstance(obj, Unknown):
        return obj
    if isinstance(key, Unknown):
        return key
    if isinstance(obj, Namespace):
        return obj.get(to_string(key))
    if isinstance(obj, list):
        position = to_number(key)
        if not float(position).is_integer():
            raise EvalError("a list index must be a whole number")
        position = int(position)
        if 0 <= position < len(obj):
            return obj[position]
        raise EvalError(f"index {position} out of range for a list of {len(obj)}")
    if isinstance(obj, dict):
        name = to_string(key)
        if name in obj:
            return obj[name]
        if isinstance(obj, Computed):
            return obj.missing(name)
        raise EvalError(f"no key {name!r}")
    if obj is None:
        raise EvalError("cannot index null")
    raise EvalError(f"cannot index a {type_name(obj)}")


def _template(parts: tuple[Any, ...], scope: Scope) -> Any:
    if len(parts) == 1 and isinstance(parts[0], Node):
        return evaluate(parts[0], scope)  # "${x}" is x itself, not its string form
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        if isinstance(part, IfPart):
            condition = evaluate(part.condition, scope)
            if isinstance(condition, Unknown):
                return condition
            value = _template_text(part.then if to_bool(condition) else part.otherwise, scope)
        elif isinstance(part, ForPart):
            value = _template_for(part, scope)
        else:
            value = evaluate(part, scope)
        if isinstance(value, Unknown):
            return value
        if value is None:
            raise EvalError("a null value cannot be interpolated into a string")
        out.append(to_string(value))
    return "".join(out)


def _template_text(parts: tuple[Any, ...], scope: Scope) -> Any:
    if not parts:
        return ""
    if len(parts) == 1 and isinstance(parts[0], Node):
        value = evaluate(parts[0], scope)
        return value if isinstance(value, Unknown) else to_string(value)
    return _template(parts, scope)


def _template_for(part: ForPart, scope: Scope) -> Any:
    collection = evaluate(part.collection, scope)
    if isinstance(collection, Unknown):
        return collection
    out: list[str] = []
    for key, value in _iterate(collection):
        bindings = {part.value: value}
        if part.key:
            bindings[part.key] = key
        text = _template_text(part.body, scope.child(bindings))
        if isinstance(text, Unknown):
            return text
        out.append(text)
    return "".join(out)


def _iterate(collection: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(collection, dict):
        for key in sorted(collection):
            yield key, collection[key]
    elif isinstance(collection, list):
        yield from enumerate(collection)
    elif collection is None:
        raise EvalError("cannot iterate over null")
    else:
        raise EvalError(f"cannot iterate over a {type_name(collection)}")


def _conditional(node: Conditional, scope: Scope) -> Any:
    condition = evaluate(node.condition, scope)
    if isinstance(condition, Unknown):
        return condition
    return evaluate(node.then if to_bool(condition) else node.otherwise, scope)


def _binary(node: Binary, scope: Scope) -> Any:
    op = node.op
    left = evaluate(node.left, scope)
    if op in ("&&", "||"):
        if not isinstance(left, Unknown):
            known = to_bool(left)
            if op == "&&" and not known:
                return False
            if op == "||" and known:
                return True
        right = evaluate(node.right, scope)
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            if not isinstance(right, Unknown):
                decided = to_bool(right)
                if op == "&&" and not decided:
                    return False
                if op == "||" and decided:
                    return True
            return unknown_from(left, right)
        return to_bool(right)
    right = evaluate(node.right, scope)
    if op in ("==", "!="):
        if contains_unknown(left) or contains_unknown(right):
            return unknown_from(first_unknown(left), first_unknown(right))
        equal = hcl_equal(left, right)
        return equal if op == "==" else not equal
    if isinstance(left, Unknown) or isinstance(right, Unknown):
        return unknown_from(left, right)
    a, b = to_number(left), to_number(right)
    if op == "+":
        return _number(a + b)
    if op == "-":
        return _number(a - b)
    if op == "*":
        return _number(a * b)
    if op == "/":
        if b == 0:
            raise EvalError("division by zero")
        return _number(a / b)
    if op == "%":
        if b == 0:
            raise EvalError("modulo by zero")
        return _number(math.fmod(a, b)) if isinstance(a, float) or isinstance(b, float) else int(math.fmod(a, b))
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    if op == "<=":
        return a <= b
    if op == ">=":
        return a >= b
    raise EvalError(f"unknown operator {op}")


def hcl_equal(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    if type_name(left) != type_name(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(hcl_equal(a, b) for a, b in zip(left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(hcl_equal(left[k], right[k]) for k in left)
    return bool(left == right)


def _unary(node: Unary, scope: Scope) -> Any:
    value = evaluate(node.operand, scope)
    if isinstance(value, Unknown):
        return value
    if node.op == "!":
        return not to_bool(value)
    return _number(-to_number(value))


def _splat(node: Splat, scope: Scope) -> Any:
    source = evaluate(node.source, scope)
    if isinstance(source, Unknown):
        return source
    if source is None:
        return []
    items = source if isinstance(source, list) else [source]
    return [evaluate(node.each, scope.child({_SPLAT: item})) for item in items]


def _for_tuple(node: ForTuple, scope: Scope) -> Any:
    collection = evaluate(node.collection, scope)
    if isinstance(collection, Unknown):
        return collection
    result: list[Any] = []
    for key, value in _iterate(collection):
        bindings = {node.value: value}
        if node.key:
            bindings[node.key] = key
        inner = scope.child(bindings)
        if node.condition is not None:
            keep = evaluate(node.condition, inner)
            if isinstance(keep, Unknown):
                return keep
            if not to_bool(keep):
                continue
        result.append(evaluate(node.body, inner))
    return result


def _for_object(node: ForObject, scope: Scope) -> Any:
    collection = evaluate(node.collection, scope)
    if isinstance(collection, Unknown):
        return collection
    result: dict[str, Any] = {}
    for key, value in _iterate(collection):
        bindings = {node.value: value}
        if node.key:
            bindings[node.key] = key
        inner = scope.child(bindings)
        if node.condition is not None:
            keep = evaluate(node.condition, inner)
            if isinstance(keep, Unknown):
                return keep
            if not to_bool(keep):
                continue
        new_key = evaluate(node.key_expr, inner)
        if isinstance(new_key, Unknown):
            return new_key
        name = _object_key(new_key)
        item = evaluate(node.value_expr, inner)
        if node.group:
            result.setdefault(name, []).append(item)
        elif name in result:
            raise EvalError(f"duplicate key {name!r} in a for expression")
        else:
            result[name] = item
    return result


# --- functions ---------------------------------------------------------------------------------
_Function = Callable[[list[Any]], Any]
_FUNCTIONS: dict[str, tuple[_Function, bool]] = {}  # name -> (function, handles unknowns itself)
# Functions whose result is not a function of the configuration: always unknown without a plan.
_NEVER_KNOWN = {
    "timestamp", "uuid", "uuidv5", "bcrypt", "file", "fileexists", "fileset", "filebase64", "templatefile",
    "filemd5", "filesha1", "filesha256", "filesha512", "filebase64sha256", "filebase64sha512", "plantimestamp",
    "cidrsubnet", "cidrsubnets", "cidrhost", "cidrnetmask", "yamlencode", "yamldecode", "md5", "sha1", "sha256",
    "sha512", "base64sha256", "base64sha512", "base64gzip", "rsadecrypt", "textencodebase64", "textdecodebase64",
    "pathexpand", "abspath", "formatdate", "timeadd", "timecmp", "ephemeralasnull", "templatestring",
}


def _function(name: str, partial: bool = False) -> Callable[[_Function], _Function]:
    def register(fn: _Function) -> _Function:
        _FUNCTIONS[name] = (fn, partial)
        return fn

    return register


def _call(node: Call, scope: Scope) -> Any:
    name = node.name
    if name == "try":
        return _try(node.args, scope)
    if name == "can":
        return _can(node.args, scope)
    args = [evaluate(arg, scope) for arg in node.args]
    if node.expand and args:
        last = args.pop()
        if isinstance(last, Unknown):
            return last
        if not isinstance(last, list):
            raise EvalError("only a list can be expanded with '...'")
        args.extend(last)
    if name in ("sensitive", "nonsensitive") and len(args) == 1:
        return args[0]
    entry = _FUNCTIONS.get(name)
    if entry is None:
        if name in _NEVER_KNOWN:
            return Unknown(f"{name}() is evaluated by Terraform at plan time")
        return Unknown(f"function {name}() is not evaluated without a plan")
    function, partial = entry
    if not partial:
        for arg in args:
            unknown = first_unknown(arg)
            if unknown is not None:
                return unknown
    try:
        return function(args)
    except EvalError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, AttributeError, OverflowError, re.error) as error:
        raise EvalError(f"{name}(): {error}") from None


def _try(args: tuple[Node, ...], scope: Scope) -> Any:
    errors: list[str] = []
    for arg in args:
        try:
            value = evaluate(arg, scope)
        except EvalError as error:
            errors.append(str(error))
            continue
        unknown = first_unknown(value)
        # Terraform's try() returns unknown when the first argument that does not fail depends
        # on unknown values: it cannot tell yet whether that argument will fail.
        return unknown if unknown is not None else value
    raise EvalError("try(): no argument succeeded" + (f" ({errors[-1]})" if errors else ""))


def _can(args: tuple[Node, ...], scope: Scope) -> Any:
    if len(args) != 1:
        raise EvalError("can() takes one argument")
    try:
        value = evaluate(args[0], scope)
    except EvalError:
        return False
    unknown = first_unknown(value)
    return unknown if unknown is not None else True


def _arity(args: list[Any], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        raise EvalError(f"expected {low}{'' if high == low else f'..{high}'} arguments, got {len(args)}")


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    raise EvalError(f"a list is required, got {type_name(value)}")


def _map(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise EvalError(f"a map is required, got {type_name(value)}")


def _scalar_key(value: Any) -> tuple[Any, ...] | None:
    """A hashable key that is equal exactly when hcl_equal is, for scalars (None for collections)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)  # 1 and 1.0 are equal, and so are their hashes
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null",)
    return None


class _Members:
    """`value in members` by hcl_equal: hashed for scalars, so toset(range(100000)) is not 10^10
    comparisons; lists and objects are compared one by one."""

    def __init__(self, values: list[Any]) -> None:
        self._keys: set[tuple[Any, ...]] = set()
        self._compound: list[Any] = []
        for value in values:
            self.add(value)

    def add(self, value: Any) -> None:
        key = _scalar_key(value)
        if key is not None:
            self._keys.add(key)
        else:
            self._compound.append(value)

    def __contains__(self, value: Any) -> bool:
        key = _scalar_key(value)
        if key is not None:
            return key in self._keys
        return any(hcl_equal(value, other) for other in self._compound)


def _unique(values: list[Any]) -> list[Any]:
    """The values in order, without repeats (by hcl_equal)."""
    seen = _Members([])
    unique: list[Any] = []
    for value in values:
        if value not in seen:
            seen.add(value)
            unique.append(value)
    return unique


def _set(values: list[Any]) -> list[Any]:
    unique = _unique(values)
    if all(isinstance(v, str) for v in unique):
        return sorted(unique)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in unique):
        return sorted(unique)
    return unique


@_function("length", partial=True)
def _length(args: list[Any]) -> Any:
    _arity(args, 1)
    value = args[0]
    if isinstance(value, Unknown):
        return value
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (list, dict)):
        return len(value)
    raise EvalError(f"length() of a {type_name(value)}")


@_function("lookup", partial=True)
def _lookup(args: list[Any]) -> Any:
    _arity(args, 2, 3)
    mapping, key = args[0], args[1]
    if isinstance(mapping, Unknown) or isinstance(key, Unknown):
        return unknown_from(mapping, key)
    mapping = _map(mapping)
    name = to_string(key)
    if name in mapping:
        return mapping[name]
    if isinstance(mapping, Computed):
        return mapping.missing(name)
    if len(args) == 3:
        return args[2]
    raise EvalError(f"lookup(): no key {name!r} and no default")


@_function("merge", partial=True)
def _merge(args: list[Any]) -> Any:
    result: dict[str, Any] = {}
    for arg in args:
        if isinstance(arg, Unknown):
            return arg
        if arg is None:
            continue
        result.update(_map(arg))
    return result


@_function("concat", partial=True)
def _concat(args: list[Any]) -> Any:
    result: list[Any] = []
    for arg in args:
        if isinstance(arg, Unknown):
            return arg
        result.extend(_list(arg))
    return result


@_function("coalesce", partial=True)
def _coalesce(args: list[Any]) -> Any:
    for arg in args:
        if isinstance(arg, Unknown):
            return arg
        if arg is not None and arg != "":
            return arg
    raise EvalError("coalesce(): no non-null, non-empty argument")


@_function("coalescelist", partial=True)
def _coalescelist(args: list[Any]) -> Any:
    for arg in args:
        if isinstance(arg, Unknown):
            return arg
        if _list(arg):
            return arg
    raise EvalError("coalescelist(): every list is empty")


@_function("element", partial=True)
def _element(args: list[Any]) -> Any:
    _arity(args, 2)
    values, index = args
    if isinstance(values, Unknown) or isinstance(index, Unknown):
        return unknown_from(values, index)
    values = _list(values)
    if not values:
        raise EvalError("element() of an empty list")
    return values[int(to_number(index)) % len(values)]


@_function("keys", partial=True)
def _keys(args: list[Any]) -> Any:
    _arity(args, 1)
    if isinstance(args[0], Unknown):
        return args[0]
    return sorted(_map(args[0]))


@_function("values", partial=True)
def _values(args: list[Any]) -> Any:
    _arity(args, 1)
    if isinstance(args[0], Unknown):
        return args[0]
    mapping = _map(args[0])
    return [mapping[k] for k in sorted(mapping)]


@_function("tolist", partial=True)
def _tolist(args: list[Any]) -> Any:
    _arity(args, 1)
    value = args[0]
    if isinstance(value, Unknown) or value is None:
        return value
    return list(_list(value))


@_function("toset")
def _toset(args: list[Any]) -> Any:
    _arity(args, 1)
    if args[0] is None:
        return None
    return _set(_list(args[0]))


@_function("tomap", partial=True)
def _tomap(args: list[Any]) -> Any:
    _arity(args, 1)
    value = args[0]
    if isinstance(value, Unknown) or value is None:
        return value
    return dict(_map(value))


@_function("tostring")
def _tostring(args: list[Any]) -> Any:
    _arity(args, 1)
    return None if args[0] is None else to_string(args[0])


@_function("tonumber")
def _tonumber(args: list[Any]) -> Any:
    _arity(args, 1)
    return None if args[0] is None else to_number(args[0])


@_function("tobool")
def _tobool(args: list[Any]) -> Any:
    _arity(args, 1)
    return None if args[0] is None else to_bool(args[0])


@_function("flatten", partial=True)
def _flatten(args: list[Any]) -> Any:
    _arity(args, 1)
    result: list[Any] = []

    def walk(value: Any) -> bool:
        if isinstance(value, Unknown):
            return False
        for item in _list(value):
            if isinstance(item, list):
                if not walk(item):
                    return False
            elif isinstance(item, Unknown):
                return False
            else:
                result.append(item)
        return True

    if not walk(args[0]):
        return first_unknown(args[0]) or Unknown("flatten() of an unknown list")
    return result


@_function("compact")
def _compact(args: list[Any]) -> Any:
    _arity(args, 1)
    return [v for v in _list(args[0]) if v is not None and v != ""]


@_function("distinct")
def _distinct(args: list[Any]) -> Any:
    _arity(args, 1)
    return _unique(_list(args[0]))


@_function("contains")
def _contains(args: list[Any]) -> Any:
    _arity(args, 2)
    return any(hcl_equal(item, args[1]) for item in _list(args[0]))


@_function("index")
def _index_of(args: list[Any]) -> Any:
    _arity(args, 2)
    for position, item in enumerate(_list(args[0])):
        if hcl_equal(item, args[1]):
            return position
    raise EvalError("index(): value not found")


@_function("one", partial=True)
def _one(args: list[Any]) -> Any:
    _arity(args, 1)
    value = args[0]
    if isinstance(value, Unknown):
        return value
    values = _list(value)
    if len(values) > 1:
        raise EvalError("one() of a list with more than one element")
    return values[0] if values else None


@_function("zipmap")
def _zipmap(args: list[Any]) -> Any:
    _arity(args, 2)
    keys, values = _list(args[0]), _list(args[1])
    if len(keys) != len(values):
        raise EvalError("zipmap(): lists of different lengths")
    return {to_string(k): v for k, v in zip(keys, values)}


@_function("range")
def _range(args: list[Any]) -> Any:
    _arity(args, 1, 3)
    numbers = [to_number(a) for a in args]
    start, stop, step = (0, numbers[0], 1) if len(numbers) == 1 else (numbers[0], numbers[1], numbers[2] if len(numbers) == 3 else 1)
    if step == 0:
        raise EvalError("range(): step 0")
    count = max(0, math.ceil((stop - start) / step))
    if count > 100_000:
        raise EvalError("range(): too many elements")
    return [_number(start + i * step) for i in range(count)]


@_function("slice", partial=True)
def _slice(args: list[Any]) -> Any:
    _arity(args, 3)
    values, start, end = args
    if isinstance(values, Unknown) or isinstance(start, Unknown) or isinstance(end, Unknown):
        return unknown_from(values, start, end)
    values = _list(values)
    low, high = int(to_number(start)), int(to_number(end))
    if not 0 <= low <= high <= len(values):
        raise EvalError("slice(): indexes out of range")
    return values[low:high]


@_function("reverse")
def _reverse(args: list[Any]) -> Any:
    _arity(args, 1)
    return list(reversed(_list(args[0])))


@_function("sort")
def _sort(args: list[Any]) -> Any:
    _arity(args, 1)
    return sorted(to_string(v) for v in _list(args[0]))


@_function("sum")
def _sum(args: list[Any]) -> Any:
    _arity(args, 1)
    values = [to_number(v) for v in _list(args[0])]
    if not values:
        raise EvalError("sum() of an empty list")
    return _number(sum(values))


@_function("alltrue")
def _alltrue(args: list[Any]) -> Any:
    _arity(args, 1)
    return all(to_bool(v) for v in _list(args[0]))


@_function("anytrue")
def _anytrue(args: list[Any]) -> Any:
    _arity(args, 1)
    return any(to_bool(v) for v in _list(args[0]))


@_function("setunion")
def _setunion(args: list[Any]) -> Any:
    return _set([v for arg in args for v in _list(arg)])


@_function("setintersection")
def _setintersection(args: list[Any]) -> Any:
    if not args:
        raise EvalError("setintersection() needs arguments")
    first = _set(_list(args[0]))
    others = [_Members(_list(other)) for other in args[1:]]
    return [v for v in first if all(v in members for members in others)]


@_function("setsubtract")
def _setsubtract(args: list[Any]) -> Any:
    _arity(args, 2)
    removed = _Members(_list(args[1]))
    return [v for v in _set(_list(args[0])) if v not in removed]


@_function("chunklist")
def _chunklist(args: list[Any]) -> Any:
    _arity(args, 2)
    values, size = _list(args[0]), int(to_number(args[1]))
    if size <= 0:
        return [values]
    return [values[i : i + size] for i in range(0, len(values), size)]


def _numbers(args: list[Any]) -> list[int | float]:
    if not args:
        raise EvalError("at least one number is required")
    return [to_number(a) for a in args]


_function("max")(lambda args: _number(max(_numbers(args))))
_function("min")(lambda args: _number(min(_numbers(args))))
_function("abs")(lambda args: _number(abs(to_number(args[0]))))
_function("ceil")(lambda args: int(math.ceil(to_number(args[0]))))
_function("floor")(lambda args: int(math.floor(to_number(args[0]))))
_function("signum")(lambda args: (to_number(args[0]) > 0) - (to_number(args[0]) < 0))
@_function("pow")
def _pow(args: list[Any]) -> Any:
    _arity(args, 2)
    base, exponent = to_number(args[0]), to_number(args[1])
    if abs(base) > 1 and exponent > 1100:
        raise EvalError("pow(): number is out of range")  # before computing a gigantic integer
    return _number(base**exponent)
_function("log")(lambda args: _number(math.log(to_number(args[0]), to_number(args[1]))))


@_function("parseint")
def _parseint(args: list[Any]) -> Any:
    _arity(args, 2)
    return int(to_string(args[0]), int(to_number(args[1])))


_function("lower")(lambda args: to_string(args[0]).lower())
_function("upper")(lambda args: to_string(args[0]).upper())
_function("title")(lambda args: re.sub(r"\b([a-z])", lambda m: m.group(1).upper(), to_string(args[0])))
_function("trimspace")(lambda args: to_string(args[0]).strip())
_function("trim")(lambda args: to_string(args[0]).strip(to_string(args[1])))
_function("trimprefix")(lambda args: to_string(args[0]).removeprefix(to_string(args[1])))
_function("trimsuffix")(lambda args: to_string(args[0]).removesuffix(to_string(args[1])))
_function("chomp")(lambda args: re.sub(r"(\r?\n)+$", "", to_string(args[0])))
_function("strrev")(lambda args: to_string(args[0])[::-1])
_function("startswith")(lambda args: to_string(args[0]).startswith(to_string(args[1])))
_function("endswith")(lambda args: to_string(args[0]).endswith(to_string(args[1])))
_function("strcontains")(lambda args: to_string(args[1]) in to_string(args[0]))
_function("basename")(lambda args: os.path.basename(to_string(args[0]).rstrip("/")))
_function("dirname")(lambda args: os.path.dirname(to_string(args[0]).rstrip("/")) or ".")
_function("base64encode")(lambda args: base64.b64encode(to_string(args[0]).encode()).decode())
_function("base64decode")(lambda args: base64.b64decode(to_string(args[0])).decode())
_function("urlencode")(lambda args: re.sub(r"[^A-Za-z0-9_.~-]", lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode()), to_string(args[0])))


@_function("split")
def _split(args: list[Any]) -> Any:
    _arity(args, 2)
    text = to_string(args[1])
    return [] if text == "" else text.split(to_string(args[0]))


@_function("join")
def _join(args: list[Any]) -> Any:
    _arity(args, 2)
    return to_string(args[0]).join(to_string(v) for v in _list(args[1]))


@_function("substr")
def _substr(args: list[Any]) -> Any:
    _arity(args, 3)
    text, offset, length = to_string(args[0]), int(to_number(args[1])), int(to_number(args[2]))
    if offset < 0:
        offset += len(text)
    return text[offset:] if length < 0 else text[offset : offset + length]


@_function("replace")
def _replace(args: list[Any]) -> Any:
    _arity(args, 3)
    text, pattern, replacement = to_string(args[0]), to_string(args[1]), to_string(args[2])
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        python_replacement = re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", replacement)
        return _with_regex("replace", lambda engine: engine.sub(pattern[1:-1], python_replacement, text, timeout=REGEX_TIMEOUT))
    return text.replace(pattern, replacement)


@_function("regex")
def _regex(args: list[Any]) -> Any:
    _arity(args, 2)
    pattern, text = to_string(args[0]), to_string(args[1])
    match = _with_regex("regex", lambda engine: engine.search(pattern, text, timeout=REGEX_TIMEOUT))
    if match is None:
        raise EvalError("regex(): no match")
    if match.groupdict():
        return match.groupdict()
    if match.groups():
        return list(match.groups())
    return match.group(0)


@_function("regexall")
def _regexall(args: list[Any]) -> Any:
    _arity(args, 2)
    pattern, text = to_string(args[0]), to_string(args[1])
    matches = _with_regex("regexall", lambda engine: list(engine.finditer(pattern, text, timeout=REGEX_TIMEOUT)))
    return [match.groupdict() or list(match.groups()) or match.group(0) for match in matches]


def _with_regex(name: str, run: Callable[[Any], Any]) -> Any:
    """Run a match on the time-limited engine (Terraform's RE2 is linear; see bounded_regex)."""
    regex = regex_engine()
    try:
        return run(regex)
    except TimeoutError:
        raise EvalError(f"{name}(): the pattern took longer than {REGEX_TIMEOUT:g}s (it backtracks)") from None
    except regex.error as error:
        raise EvalError(f"{name}(): invalid pattern: {error}") from None


_FORMAT_RE = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([svdfqtbxXoeEgG%])")


@_function("format")
def _format(args: list[Any]) -> Any:
    if not args:
        raise EvalError("format() needs a format string")
    spec, values = to_string(args[0]), list(args[1:])
    position = 0

    def render(match: re.Match[str]) -> str:
        nonlocal position
        flags, width, precision, verb = match.groups()
        if verb == "%":
            return "%"
        if position >= len(values):
            raise EvalError("format(): not enough arguments")
        value = values[position]
        position += 1
        if verb in ("s", "v"):
            text = json.dumps(value) if isinstance(value, (list, dict)) else to_string(value)
        elif verb == "q":
            text = json.dumps(to_string(value))
        elif verb == "t":
            text = "true" if to_bool(value) else "false"
        elif verb in "dbxXo":
            number = to_number(value)
            if not float(number).is_integer():
                raise EvalError("format(): %d of a fraction")
            text = format(int(number), {"d": "d", "b": "b", "x": "x", "X": "X", "o": "o"}[verb])
        else:
            text = ("%" + (f".{precision}" if precision else "") + verb) % to_number(value)
            precision = None
        if precision and verb in ("s", "v", "q"):
            text = text[: int(precision)]
        if width:
            text = text.ljust(int(width)) if "-" in flags else text.rjust(int(width), "0" if "0" in flags and verb not in "sqv" else " ")
        return text

    return _FORMAT_RE.sub(render, spec)


@_function("jsonencode")
def _jsonencode(args: list[Any]) -> Any:
    _arity(args, 1)
    return json.dumps(args[0], separators=(",", ":"), sort_keys=True)


@_function("jsondecode")
def _jsondecode(args: list[Any]) -> Any:
    _arity(args, 1)
    try:
        return json.loads(to_string(args[0]))
    except json.JSONDecodeError as error:
        raise EvalError(f"jsondecode(): {error}") from None


# --- type constraints --------------------------------------------------------------------------
def convert_type(value: Any, type_node: Node | None) -> Any:
    """Convert a value to a variable's type constraint the way Terraform does for the cases that
    matter here: primitive conversions ("3" -> 3 for a number), collections element-wise, and
    object types with `optional(type, default)` attributes filled in (extra attributes dropped).
    A value that does not fit is returned unchanged (Terraform would reject it)."""
    if type_node is None or isinstance(value, Unknown) or value is None:
        return value
    try:
        return _convert(value, type_node)
    except (EvalError, TypeError, ValueError):
        return value


def _convert(value: Any, node: Node) -> Any:
    if isinstance(value, Unknown) or value is None:
        return value
    if isinstance(node, Root):
        if node.name == "number" and not isinstance(value, (list, dict)):
            return to_number(value)
        if node.name == "bool" and not isinstance(value, (list, dict)):
            return to_bool(value)
        if node.name == "string" and not isinstance(value, (list, dict)):
            return to_string(value)
        return value
    if not isinstance(node, Call) or not node.args:
        return value
    name, inner = node.name, node.args[0]
    if name in ("list", "set") and isinstance(value, list):
        converted = [_convert(item, inner) for item in value]
        return _set(converted) if name == "set" else converted
    if name == "map" and isinstance(value, dict):
        return {key: _convert(item, inner) for key, item in value.items()}
    if name == "tuple" and isinstance(value, list) and isinstance(inner, TupleCons):
        return [_convert(item, t) for item, t in zip(value, inner.items)] + value[len(inner.items) :]
    if name == "object" and isinstance(value, dict) and isinstance(inner, ObjectCons):
        # Attributes the type does not declare are dropped, as Terraform does.
        result: dict[str, Any] = {}
        for key_node, attribute_type in inner.items:
            key = key_node.value if isinstance(key_node, Lit) else None
            if not isinstance(key, str):
                continue
            if isinstance(attribute_type, Call) and attribute_type.name == "optional" and attribute_type.args:
                default = evaluate_safely(attribute_type.args[1], EMPTY_SCOPE) if len(attribute_type.args) > 1 else None
                item = value.get(key)
                result[key] = _convert(default if item is None else item, attribute_type.args[0])
            elif key in value:
                result[key] = _convert(value[key], attribute_type)
        return result
    return value


# --- references --------------------------------------------------------------------------------
_NOT_RESOURCES = {"var", "local", "module", "data", "path", "terraform", "count", "each", "self", _SPLAT}


def references(node: Node) -> list[str]:
    """The references of an expression in the form `terraform show -json` writes them in a plan's
    configuration: 'aws_launch_template.this[0].id' then 'aws_launch_template.this', 'var.x',
    'module.m.out' then 'module.m'. Names bound inside the expression (for, splat) are skipped."""
    found: list[str] = []
    _collect(node, frozenset(), found)
    return list(dict.fromkeys(found))


def _traversal(node: Node) -> tuple[str, list[str]] | None:
    steps: list[str] = []
    while True:
        if isinstance(node, GetAttr):
            steps.append("." + node.name)
            node = node.obj
        elif isinstance(node, Index):
            key = node.key.value if isinstance(node.key, Lit) else None
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                steps.clear()  # a dynamic index ends the static part of the traversal
            else:
                steps.append(f"[{json.dumps(key)}]")
            node = node.obj
        elif isinstance(node, Root):
            steps.reverse()
            return node.name, steps
        else:
            return None


def _collect(node: Any, bound: frozenset[str], found: list[str]) -> None:
    if isinstance(node, (GetAttr, Index, Root)):
        traversal = _traversal(node)
        if traversal is not None:
            root, steps = traversal
            if root not in bound:
                found.extend(_reference_forms(root, steps))
        # dynamic index keys still hold references
        inner: Node = node
        while isinstance(inner, (GetAttr, Index)):
            if isinstance(inner, Index):
                _collect(inner.key, bound, found)
            inner = inner.obj
        if not isinstance(inner, Root):
            _collect(inner, bound, found)
        return
    if isinstance(node, Splat):
        _collect(node.source, bound, found)
        _collect(node.each, bound | {_SPLAT}, found)
        return
    if isinstance(node, (ForTuple, ForObject)):
        _collect(node.collection, bound, found)
        names = bound | {node.value} | ({node.key} if node.key else set())
        children: list[Any] = [node.condition]
        children += [node.body] if isinstance(node, ForTuple) else [node.key_expr, node.value_expr]
        for child in children:
            if child is not None:
                _collect(child, names, found)
        return
    if isinstance(node, ForPart):
        _collect(node.collection, bound, found)
        names = bound | {node.value} | ({node.key} if node.key else set())
        for part in node.body:
            _collect(part, names, found)
        return
    if isinstance(node, IfPart):
        _collect(node.condition, bound, found)
        for part in node.then + node.otherwise:
            _collect(part, bound, found)
        return
    if isinstance(node, Template):
        for part in node.parts:
            _collect(part, bound, found)
    elif isinstance(node, Call):
        for arg in node.args:
            _collect(arg, bound, found)
    elif isinstance(node, TupleCons):
        for item in node.items:
            _collect(item, bound, found)
    elif isinstance(node, ObjectCons):
        for key, value in node.items:
            _collect(key, bound, found)
            _collect(value, bound, found)
    elif isinstance(node, Conditional):
        _collect(node.condition, bound, found)
        _collect(node.then, bound, found)
        _collect(node.otherwise, bound, found)
    elif isinstance(node, Binary):
        _collect(node.left, bound, found)
        _collect(node.right, bound, found)
    elif isinstance(node, Unary):
        _collect(node.operand, bound, found)


def _reference_forms(root: str, steps: list[str]) -> list[str]:
    full = root + "".join(steps)
    if root in ("var", "local", "count", "each", "path", "terraform", "self"):
        return list(dict.fromkeys([full, root + "".join(steps[:1])])) if steps else [full]
    if root == "module":
        return list(dict.fromkeys([full, root + "".join(steps[:1])]))
    if root == "data":
        return list(dict.fromkeys([full, root + "".join(steps[:2])]))
    # a resource: type.name[index].attribute...
    if not steps or not steps[0].startswith("."):
        return []
    forms = [full]
    if len(steps) > 1 and steps[1].startswith("["):
        forms.append(root + steps[0] + steps[1])
    forms.append(root + steps[0])
    return list(dict.fromkeys(forms))
