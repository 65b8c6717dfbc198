"""A hand-written HCL2 parser whose output is exactly python-hcl2's, without hcl2 or lark.

`parse(text)` returns what `hcl2.loads(text, serialization_options=SerializationOptions(
with_comments=False, preserve_heredocs=False))` returns with python-hcl2 8.1.x, about thirty times
faster, and the pre-commit hook no longer imports hcl2 and lark or loads lark's LALR tables.
Anything this module does not reproduce exactly raises `Unsupported`, and the caller falls back to
python-hcl2, which also writes the error message for invalid HCL. So the rule here is: accept only
what python-hcl2 accepts, and give the same dicts. Being stricter than hcl2 is always allowed,
because it only costs a fallback: when in doubt, this module refuses.

What python-hcl2 does, and therefore what this module reproduces:

* Expressions are reconstructed from the tree, not copied from the source: one space around binary
  operators, `, ` between arguments and elements, `{k = v, ...}` for objects inside expressions,
  `for k, v in c : ...` in for expressions, no spaces inside `${}`. Only the parentheses that are in
  the source are written, so operator precedence never shows in the text. That is why the parser
  reads a chain of binary operators as a flat list.
* At the top of a value, literals become Python values (ints, floats, True/False/None, lists and
  dicts). Strings keep their quotes and their escapes as written. A bare identifier is its own name
  (`foo`, without `${}`). Every other expression becomes `"${...}"`, and so does a number in
  scientific notation.
* Newlines and comments are tokens (lark's NL_OR_COMMENT), allowed only where the grammar allows
  them. A `/* */` comment counts as a newline too, so `a = /* c */ 1` is an error. hcl2's
  post-lexer merges the newline token right before a binary operator (except `-`) or `?` into the
  operator. Other newlines before an operator are taken by the trailing newline of the preceding
  binary operation, which is why several comment lines between `&&` clauses parse.

Oddities that are reproduced on purpose, because python-hcl2 produces them:

* `(true)`, `(null)`, `([1, "a"])` at the top of a value are formatted with Python's `str`:
  `${(True)}`, `${(None)}`, `${([1, '"a"'])}`.
* A comment merged into the operator after it stays in the operator's text:
  `x # c` + newline + `&& y` renders as `${x # c` + newline + `&& y}`.
* A newline (or a comment) between a block's labels and its `{` becomes one more label whose text
  is that newline or comment.

And oddities that are refused, because hcl2 fails on them: a number literal as the value of a for
expression (hcl2 concatenates it to a str: TypeError), `x -10` or `x -1.5` (lexed as `x` and a
negative literal), and `for`, `in`, `if`... as variable names after a newline (lexed as keywords).
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

__all__ = ["Unsupported", "parse"]


class Unsupported(Exception):
    """The text is not HCL that this parser reproduces exactly; use python-hcl2 instead."""


# --- tokenizer ---------------------------------------------------------------------------------
# Token kinds are short strings. Punctuation and operators are their own text ("(", "==", "...").
# The others:
NAME = "N"
NUMBER = "0"
NEWLINE = "\n"  # a newline with the next line's indentation, or a comment (lark's NL_OR_COMMENT)
STRING = "S"  # a quoted string with no ${ } or %{ } in it: the value is the whole source text
TEMPLATE_START = '"'  # the opening quote of a string with interpolations or directives
LITERAL = "L"  # literal text inside such a string, escapes as written
INTERPOLATION = "${"
DIRECTIVE = "%{"
TEMPLATE_END = "E"
HEREDOC = "H"
EOF = ""

# Each alternative mirrors a terminal of python-hcl2's hcl2.lark, and leading blanks are skipped
# as lark's %ignore does. Inside quotes, a literal run stops before `${`, `%{` and the closing
# quote. `$${...}` and `%%{...}` escapes are taken up to the first `}` even across quotes, as
# ESCAPED_INTERPOLATION and ESCAPED_DIRECTIVE take them.
_STRING_BODY = r'[^"\\$%]*(?:(?:\\.|\$(?!\$?\{)|%(?!%?\{)|\$\$\{[^}]*\}|%%\{[^}]*\})[^"\\$%]*)*'
_CODE_RE = re.compile(
    r"""[ \t\r]*(?:
        (?P<name>[a-zA-Z_][a-zA-Z0-9_-]*)
      | (?P<nl>\n[ \t]*|\#[^\n]*\n|//[^\n]*\n|/\*[\s\S]*?\*/)
      | (?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
      | (?P<string>"""
    + '"'
    + _STRING_BODY
    + '"'
    + r""")
      | (?P<heredoc><<-?(?P<marker>[a-zA-Z][a-zA-Z0-9._-]*)\r?\n(?:[\s\S]*?\r?\n)??\s*(?P=marker)\r?\n)
      | (?P<op>\.\.\.|\[\*\]|\.\*|::|==|!=|<=|>=|&&|\|\||=>|[-+*/%<>!?:=(){}\[\],.~"])
    )""",
    re.VERBOSE,
)
# The heredoc alternative is hcl2.lark's two heredoc terminals in one, `(?:.|\n)` written `[\s\S]`.
# It is the outer group of `marker`, so it is the match's lastgroup.
_LITERAL_RE = re.compile(_STRING_BODY)
_GROUP_KINDS = {"nl": NEWLINE, "name": NAME, "number": NUMBER, "string": STRING, "heredoc": HEREDOC}

_STRING_MODE = -1  # on the template stack: inside quotes (otherwise: open `{` inside `${ }`)


def _tokenize(text: str) -> tuple[list[str], list[str], list[int]]:
    """Kinds, values and start offsets of the tokens of `text`, with EOF sentinels at the end."""
    kinds: list[str] = []
    values: list[str] = []
    starts: list[int] = []
    add_kind = kinds.append
    add_value = values.append
    add_start = starts.append
    group_kinds = _GROUP_KINDS
    # One entry per open template: _STRING_MODE inside its quotes, or the number of `{` opened
    # inside one of its `${ }` or `%{ }` (the `}` that closes the interpolation returns to text).
    templates: list[int] = []
    pos = 0
    end = len(text)
    while pos < end:
        if templates and templates[-1] == _STRING_MODE:
            literal = _LITERAL_RE.match(text, pos)
            assert literal is not None  # the pattern matches the empty string
            if literal.end() > pos:
                add_kind(LITERAL)
                add_value(literal.group())
                add_start(pos)
                pos = literal.end()
            two = text[pos : pos + 2]
            if two == "${" or two == "%{":
                add_kind(two)
                add_value(two)
                templates.append(0)
            elif two[:1] == '"':
                add_kind(TEMPLATE_END)
                add_value('"')
                templates.pop()
            else:
                raise Unsupported(f"unterminated string or invalid escape at offset {pos}")
            add_start(pos)
            pos += len(values[-1])
            continue
        # Outside quotes: one scan until a quote opens a template, so most files take one scan.
        for match in _CODE_RE.finditer(text, pos):
            if match.start() != pos:
                break  # a character no token starts with (finditer skipped it)
            pos = match.end()
            group = match.lastgroup
            value = match.group(group)  # type: ignore[arg-type]  # some group always matches
            if group != "op":
                add_kind(group_kinds[group])  # type: ignore[index]
                add_value(value)
                add_start(match.start(group))  # type: ignore[arg-type]
                continue
            add_kind(value)
            add_value(value)
            add_start(pos - len(value))
            if value == "{":
                if templates:
                    templates[-1] += 1
            elif value == "}":
                if templates:
                    if templates[-1] == 0:
                        templates.pop()  # the end of an interpolation: back to the template text
                        break
                    templates[-1] -= 1
            elif value == '"':
                templates.append(_STRING_MODE)
                break
        else:  # no token after pos
            if text[pos:end].strip(" \t\r"):
                raise Unsupported(f"unexpected character {text[pos : pos + 1]!r} at offset {pos}")
            break
        if not templates or templates[-1] != _STRING_MODE:  # the scan stopped at a stray character
            raise Unsupported(f"unexpected character {text[pos : pos + 1]!r} at offset {pos}")
    if templates:
        raise Unsupported("unterminated string")
    # Sentinels, so that the parser can look two tokens ahead without bounds checks.
    kinds += [EOF, EOF, EOF, EOF, EOF]
    values += [EOF, EOF, EOF, EOF, EOF]
    starts += [end, end, end, end, end]
    return kinds, values, starts


# --- parser ------------------------------------------------------------------------------------
# The parser builds small nodes, (tag, payload), because the same expression renders differently
# at the top of a value (Python values) and inside an expression (text). The tags:
TEXT = 0  # strings, heredocs and identifiers, whose text is the same in both places
INT = 1  # payload: the digits
FLOAT = 2  # payload: the source text
KEYWORD = 3  # true, false, null
TUPLE = 4  # payload: list of nodes
OBJECT = 5  # payload: list of ((key at the top, key inside an expression), node)
EXPRESSION = 6  # payload: the text inside "${...}"
NEGATION = 7  # unary minus; payload: its operand node (a negated number is a number)
PARENS = 8  # payload: the node inside

Node = tuple[int, Any]

# Binary operators by precedence (hcl2.lark's ladder, loosest first), and `?` below them all.
_PRECEDENCE = {
    "?": 0,
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 4,
    ">": 4,
    "<=": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "%": 6,
}
_BINARY_OPERATORS = frozenset(_PRECEDENCE) - {"?"}
_CONDITIONAL = frozenset({"?"})
_POSTFIX_STARTS = frozenset({".", "[", ".*", "[*]"})
_LINE_ENDS = frozenset({NEWLINE, "}", EOF})
# Lexed as keywords by hcl2 wherever its (LALR, so shared) parser states accept one, so they are
# not used as names where that is in doubt: as iterators, as object keys followed by anything but
# `=` or `:`, and as variables after a newline (where hcl2 has taken them as keywords, and failed).
_LITERALS = frozenset({"true", "false", "null"})
_NAME_KEYWORDS = frozenset({"for", "in", "if", "for_each", "else", "endif", "endfor"})
_KEYWORDS = _NAME_KEYWORDS | _LITERALS


class _Parser:
    """Recursive descent over the token lists, following hcl2.lark's rules.

    `nl_ok` tells an expression whether its context allows a newline after it. Only then may a
    newline before an operator be merged into that operator, since only then does hcl2's lexer
    produce the newline token at that point.
    """

    __slots__ = ("kinds", "values", "starts", "text", "pos", "last_precedence")

    def __init__(self, text: str) -> None:
        self.text = text
        self.kinds, self.values, self.starts = _tokenize(text)
        self.pos = 0
        # Precedence of the last operator of the binary chain just read (0: there was none).
        self.last_precedence = 0

    def fail(self, expected: str) -> NoReturn:
        start = self.starts[self.pos]
        line = self.text.count("\n", 0, start) + 1
        found = self.values[self.pos] or "end of file"
        raise Unsupported(f"line {line}: expected {expected}, found {found[:30]!r}")

    def skip_newlines(self) -> bool:
        kinds = self.kinds
        pos = start = self.pos
        while kinds[pos] == NEWLINE:
            pos += 1
        self.pos = pos
        return pos != start

    def expect(self, kind: str) -> None:
        if self.kinds[self.pos] != kind:
            self.fail(repr(kind))
        self.pos += 1

    # body := ({newline} (attribute | block))* {newline}
    def body(self, top: bool) -> dict[str, Any]:
        kinds = self.kinds
        values = self.values
        result: dict[str, Any] = {}
        attributes: set[str] = set()
        while True:
            self.skip_newlines()
            pos = self.pos
            kind = kinds[pos]
            if kind == NAME:
                name = values[pos]
                if kinds[pos + 1] == "=":
                    self.pos = pos + 2
                    node = self.expression(True)
                    if kinds[self.pos] not in _LINE_ENDS and kinds[self.pos - 1] != HEREDOC:
                        self.fail("a new line after the attribute")  # hcl2 would not need one
                    if name in result and name not in attributes:
                        self.fail("no attribute named like a block")  # hcl2 raises or overwrites
                    attributes.add(name)
                    result[name] = _value(node)
                else:
                    self.pos = pos + 1
                    block = self.block()
                    if name in attributes:
                        self.fail("no block named like an attribute")
                    if name in result:
                        result[name].append(block)
                    else:
                        result[name] = [block]
            elif kind == (EOF if top else "}"):
                return result
            else:
                self.fail("an attribute or a block")

    # block := name (name | string)* [newline] "{" body "}"
    def block(self) -> dict[str, Any]:
        kinds = self.kinds
        values = self.values
        labels: list[str] = []
        while True:
            pos = self.pos
            kind = kinds[pos]
            if kind == NAME or kind == STRING:
                labels.append(values[pos])
                self.pos = pos + 1
            elif kind == TEMPLATE_START:
                labels.append(self.template())
            elif kind == NEWLINE:
                # hcl2 keeps the newline (or comment) before `{` as one more label
                while kinds[self.pos] == NEWLINE:
                    self.pos += 1
                labels.append("".join(values[pos : self.pos]))
                if kinds[self.pos] != "{":
                    self.fail("'{'")
            elif kind == "{":
                break
            else:
                self.fail("a block label or '{'")
        self.pos += 1
        result: dict[str, Any] = self.body(False)
        self.pos += 1  # the closing brace, which body() stopped at
        if kinds[self.pos] not in _LINE_ENDS:
            self.fail("a new line after the block")
        result["__is_block__"] = True
        for label in reversed(labels):
            result = {label: result}
        return result

    def operator_ahead(self, operators: frozenset[str], nl_ok: bool) -> tuple[str, str] | None:
        """Consume the next operator if it is one of `operators`, and return it with its text as
        hcl2 writes it; None (consuming nothing) if there is none or hcl2 would not accept it here.

        Newlines may come first. hcl2's post-lexer merges the last one into the operator (never
        into `-`), and a comment merged that way stays in the operator's text. Only the last
        newline can be merged; the others must belong to the trailing `new_line_or_comment?` of
        the last binary operation, which only an operator that binds no tighter may continue.
        """
        kinds = self.kinds
        pos = self.pos
        kind = kinds[pos]
        if kind in operators:
            self.pos = pos + 1
            return kind, kind
        if kind != NEWLINE:
            return None
        end = pos + 1
        while kinds[end] == NEWLINE:
            end += 1
        operator = kinds[end]
        if operator not in operators or operator == "-":
            return None
        last = self.last_precedence
        if end - pos == 1:
            # hcl2's lexer makes the newline a token only where the grammar allows one here
            if not (nl_ok or last):
                return None
        elif not last or _PRECEDENCE[operator] > last:
            return None
        self.pos = end + 1
        return operator, (self.values[end - 1] + operator).strip()

    # expression := binary ["?" expression ":" expression]
    def expression(self, nl_ok: bool) -> Node:
        condition = self.binary(nl_ok)
        if self.operator_ahead(_CONDITIONAL, nl_ok) is None:
            return condition
        self.skip_newlines()
        if_true = self.expression(True)
        self.skip_newlines()
        self.expect(":")
        self.skip_newlines()
        if_false = self.expression(nl_ok)
        return (EXPRESSION, f"{_dollar(condition)} ? {_dollar(if_true)} : {_dollar(if_false)}")

    # binary := unary (operator unary)*: rendered without added parentheses, so precedence and
    # associativity do not change the text and the chain is read flat.
    def binary(self, nl_ok: bool) -> Node:
        first = self.unary()
        self.last_precedence = 0
        operator = self.operator_ahead(_BINARY_OPERATORS, nl_ok)
        if operator is None:
            return first
        parts = [_dollar(first)]
        while operator is not None:
            if operator[0] == "-" and self.glued_negative_number():
                self.fail("a binary minus hcl2 does not read as one")
            self.skip_newlines()
            parts.append(operator[1])
            parts.append(_dollar(self.unary()))
            self.last_precedence = _PRECEDENCE[operator[0]]
            operator = self.operator_ahead(_BINARY_OPERATORS, nl_ok)
        return (EXPRESSION, " ".join(parts))

    def glued_negative_number(self) -> bool:
        """Whether the `-` just read and the number after it form one of hcl2's negative literals.

        hcl2.lark's INT_LITERAL takes a minus before two or more digits (`-10`, not `-1`) and
        FLOAT_LITERAL before any float (`-1.5`, `-1e3`), and its lexer takes them wherever an
        operand may end, where `x -10` then fails to parse.
        """
        pos = self.pos
        return self.kinds[pos] == NUMBER and self.starts[pos] == self.starts[pos - 1] + 1 and len(self.values[pos]) > 1

    # unary := ("-" | "!") postfix | postfix
    def unary(self) -> Node:
        kind = self.kinds[self.pos]
        if kind == "-":
            self.pos += 1
            return (NEGATION, self.postfix())
        if kind == "!":
            self.pos += 1
            return (EXPRESSION, "!" + _dollar(self.postfix()))
        return self.postfix()

    # postfix := primary ("." name | "." digits | ".*" | "[*]" | "[" expression "]")*
    def postfix(self) -> Node:
        node = self.primary()
        kinds = self.kinds
        if kinds[self.pos] not in _POSTFIX_STARTS:
            return node
        values = self.values
        parts = [_dollar(node)]
        while True:
            pos = self.pos
            kind = kinds[pos]
            if kind == ".":
                following = kinds[pos + 1]
                if following == NAME:
                    parts.append("." + values[pos + 1])
                elif following == NUMBER and values[pos + 1].isdigit():
                    parts.append("." + str(int(values[pos + 1])))
                else:
                    self.pos = pos + 1
                    self.fail("an attribute name or an index")
                self.pos = pos + 2
            elif kind == ".*" or kind == "[*]":
                parts.append(kind)
                self.pos = pos + 1
            elif kind == "[":
                self.pos = pos + 1
                self.skip_newlines()
                index = self.expression(True)
                self.skip_newlines()
                self.expect("]")
                parts.append(f"[{_dollar(index)}]")
            else:
                return (EXPRESSION, "".join(parts))

    def primary(self) -> Node:
        kinds = self.kinds
        values = self.values
        pos = self.pos
        kind = kinds[pos]
        if kind == STRING:
            self.pos = pos + 1
            return (TEXT, values[pos])
        if kind == NAME:
            name = values[pos]
            if name in _NAME_KEYWORDS and kinds[pos - 1] == NEWLINE:
                self.fail("no keyword as a name after a newline")
            following = kinds[pos + 1]
            if following == "(" or following == "::":
                if name in _LITERALS:
                    self.fail("no call of a literal")
                return self.function_call()
            self.pos = pos + 1
            if name in _LITERALS:
                return (KEYWORD, name)
            return (TEXT, name)
        if kind == NUMBER:
            self.pos = pos + 1
            number = values[pos]
            if number.isdigit():
                return (INT, number)
            return (FLOAT, number)
        if kind == TEMPLATE_START:
            return (TEXT, self.template())
        if kind == HEREDOC:
            self.pos = pos + 1
            return (TEXT, _heredoc(values[pos]))
        if kind == "(":
            self.pos = pos + 1
            self.skip_newlines()
            inner = self.expression(True)
            self.skip_newlines()
            self.expect(")")
            return (PARENS, inner)
        if kind == "[":
            self.pos = pos + 1
            self.skip_newlines()
            if kinds[self.pos] == NAME and values[self.pos] == "for":
                return self.for_tuple()
            return self.tuple_expression()
        if kind == "{":
            self.pos = pos + 1
            self.skip_newlines()
            pos = self.pos
            if kinds[pos] == NAME and values[pos] == "for" and kinds[pos + 1] not in ("=", ":"):
                return self.for_object()
            return self.object_expression()
        self.fail("an expression")

    # call := name ["::" name "::" name] "(" [arguments] ")"
    def function_call(self) -> Node:
        kinds = self.kinds
        values = self.values
        pos = self.pos
        name = values[pos]
        if kinds[pos + 1] == "::":
            if not (kinds[pos + 2] == NAME and kinds[pos + 3] == "::" and kinds[pos + 4] == NAME):
                self.fail("a namespaced function name")
            name = f"{name}::{values[pos + 2]}::{values[pos + 4]}"
            pos += 4
        self.pos = pos + 1
        self.expect("(")
        self.skip_newlines()
        arguments: list[str] = []
        expand = ""
        if kinds[self.pos] != ")":
            while True:
                arguments.append(_dollar(self.expression(True)))
                if kinds[self.pos] == "...":  # only right after the argument, no newline between
                    self.pos += 1
                    expand = " ..."
                    self.skip_newlines()
                    break
                newline_before = self.skip_newlines()
                if kinds[self.pos] != ",":
                    break
                self.pos += 1
                self.skip_newlines()
                if kinds[self.pos] == ")":
                    if newline_before:  # hcl2 takes a trailing comma only right after the argument
                        self.fail("no newline before a trailing comma")
                    break
        self.expect(")")
        return (EXPRESSION, f"{name}({', '.join(arguments)}{expand})")

    # tuple := "[" [expression ("," expression)* [","]] "]", newlines around elements and commas
    def tuple_expression(self) -> Node:
        kinds = self.kinds
        elements: list[Node] = []
        while kinds[self.pos] != "]":
            elements.append(self.expression(True))
            self.skip_newlines()
            if kinds[self.pos] == ",":
                self.pos += 1
                self.skip_newlines()
            elif kinds[self.pos] != "]":
                self.fail("',' or ']'")
        self.pos += 1
        return (TUPLE, elements)

    # object := "{" (key ("=" | ":") expression ("," | newline))* "}"
    def object_expression(self) -> Node:
        kinds = self.kinds
        elements: list[tuple[tuple[str, str], Node]] = []
        while kinds[self.pos] != "}":
            key = self.object_key()
            kind = kinds[self.pos]
            if kind != "=" and kind != ":":
                self.fail("'=' or ':'")
            self.pos += 1
            elements.append((key, self.expression(True)))
            # a heredoc ends with its closing marker's newline, which separates elements too
            newline = kinds[self.pos - 1] == HEREDOC
            newline = self.skip_newlines() or newline
            if kinds[self.pos] == ",":
                self.pos += 1
                self.skip_newlines()
            elif kinds[self.pos] != "}" and not newline:
                self.fail("',', a new line or '}'")  # hcl2 would take no separator at all
        self.pos += 1
        return (OBJECT, elements)

    def object_key(self) -> tuple[str, str]:
        """The key as hcl2 writes it at the top of a value, and inside an expression."""
        kinds = self.kinds
        values = self.values
        pos = self.pos
        kind = kinds[pos]
        simple = kinds[pos + 1] == "=" or kinds[pos + 1] == ":"
        if simple and (kind == NAME or kind == STRING):
            self.pos = pos + 1
            return values[pos], values[pos]
        if simple and kind == NUMBER:
            self.pos = pos + 1
            number = values[pos]
            if number.isdigit():
                return str(int(number)), str(int(number))
            if "e" in number.lower():
                return "${" + number + "}", number
            return str(float(number)), str(float(number))
        if kind == TEMPLATE_START:
            key = self.template()
            return key, key
        if kind == "(":
            inner = self.primary()
            if kinds[self.pos] != "=" and kinds[self.pos] != ":":
                self.fail("'=' or ':' after a parenthesized key")
            key = _dollar(inner)
            return _to_dollar_string(key), key
        self.fail("an object key")

    # for_intro := "for" name ["," name] "in" expression ":"
    def for_intro(self) -> str:
        kinds = self.kinds
        values = self.values
        self.pos += 1
        self.skip_newlines()
        pos = self.pos
        if kinds[pos] != NAME or values[pos] in _KEYWORDS:
            self.fail("an iterator name")
        names = values[pos]
        pos += 1
        if kinds[pos] == ",":  # no newline on either side of this comma
            if kinds[pos + 1] != NAME or values[pos + 1] in _KEYWORDS:
                self.pos = pos + 1
                self.fail("an iterator name")
            names += ", " + values[pos + 1]
            pos += 2
        self.pos = pos
        self.skip_newlines()
        if kinds[self.pos] != NAME or values[self.pos] != "in":
            self.fail("'in'")
        self.pos += 1
        self.skip_newlines()
        collection = self.expression(True)
        self.skip_newlines()
        self.expect(":")
        self.skip_newlines()
        return f"for {names} in {_dollar(collection)} : "

    def for_condition(self) -> str:
        self.skip_newlines()
        pos = self.pos
        if self.kinds[pos] != NAME or self.values[pos] != "if":
            return ""
        self.pos = pos + 1
        self.skip_newlines()
        condition = self.expression(True)
        self.skip_newlines()
        return " if " + _dollar(condition)

    def for_value(self, nl_ok: bool) -> str:
        """The value of a for expression. hcl2 concatenates it with `+=`, which raises TypeError
        when it serialized to a number: an int or float literal, a negative one included (but not
        one in scientific notation, which serializes to its text)."""
        node = self.expression(nl_ok)
        tag, payload = node
        if tag == NEGATION:
            tag, payload = payload
        if tag == INT or (tag == FLOAT and "e" not in payload.lower()):
            self.fail("a for expression value that is not a number literal")
        return _dollar(node)

    # for_tuple := "[" for_intro expression ["if" expression] "]"
    def for_tuple(self) -> Node:
        intro = self.for_intro()
        value = self.for_value(True)
        condition = self.for_condition()
        self.expect("]")
        return (EXPRESSION, f"[{intro}{value}{condition}]")

    # for_object := "{" for_intro expression "=>" expression ["..."] ["if" expression] "}"
    def for_object(self) -> Node:
        intro = self.for_intro()
        key = _dollar(self.expression(False))
        self.expect("=>")
        self.skip_newlines()
        value = self.for_value(True)
        self.skip_newlines()
        group = ""
        if self.kinds[self.pos] == "...":
            self.pos += 1
            group = "..."
        condition = self.for_condition()
        self.expect("}")
        return (EXPRESSION, f"{{{intro}{key} => {value}{group}{condition}}}")

    # template := '"' (literal | "${" expression "}" | directive)* '"'
    def template(self) -> str:
        kinds = self.kinds
        values = self.values
        self.pos += 1
        parts = ['"']
        open_directives: list[str] = []
        while True:
            pos = self.pos
            kind = kinds[pos]
            if kind == LITERAL:
                parts.append(values[pos])
                self.pos = pos + 1
            elif kind == INTERPOLATION:
                self.pos = pos + 1
                parts.append(_to_dollar_string(_dollar(self.expression(False))))
                self.expect("}")
            elif kind == DIRECTIVE:
                parts.append(self.directive(open_directives))
            elif kind == TEMPLATE_END:
                self.pos = pos + 1
                break
            else:
                self.fail("the end of the string")
        if open_directives:
            self.fail("the end of an open template directive")
        parts.append('"')
        return "".join(parts)

    # directive := "%{" ["~"] (if expression | else | endif | for names in expression | endfor) ["~"] "}"
    def directive(self, open_directives: list[str]) -> str:
        """One directive, normalized the way hcl2 writes it; `open_directives` tracks nesting (hcl2
        fails on an unterminated one and mis-nests crossed ones, which are refused here)."""
        kinds = self.kinds
        values = self.values
        self.pos += 1
        strip_open = kinds[self.pos] == "~"
        if strip_open:
            self.pos += 1
        pos = self.pos
        word = values[pos] if kinds[pos] == NAME else ""
        self.pos = pos + 1
        innermost = open_directives[-1] if open_directives else ""
        if word == "if":
            text = "if " + _dollar(self.expression(False))
            open_directives.append("if")
        elif word == "for":
            names = values[self.pos]
            if kinds[self.pos] != NAME or names in _KEYWORDS:
                self.fail("an iterator name")
            self.pos += 1
            if kinds[self.pos] == ",":
                if kinds[self.pos + 1] != NAME or values[self.pos + 1] in _KEYWORDS:
                    self.fail("an iterator name")
                names += ", " + values[self.pos + 1]
                self.pos += 2
            if kinds[self.pos] != NAME or values[self.pos] != "in":
                self.fail("'in'")
            self.pos += 1
            text = f"for {names} in {_dollar(self.expression(False))}"
            open_directives.append("for")
        elif word == "else" and innermost == "if":
            text = word
            open_directives[-1] = "else"
        elif (word == "endif" and innermost in ("if", "else")) or (word == "endfor" and innermost == "for"):
            text = word
            open_directives.pop()
        else:
            self.pos = pos
            self.fail("a template directive that matches the open ones")
        strip_close = kinds[self.pos] == "~"
        if strip_close:
            self.pos += 1
        self.expect("}")
        return f"%{{{'~ ' if strip_open else ' '}{text}{' ~' if strip_close else ' '}}}"


# --- renderer ----------------------------------------------------------------------------------
# What hcl2's serializer writes for a node: `_value` at the top of an attribute value (and in the
# elements of tuples and objects there), `_dollar` inside an expression, where everything is text.


def _value(node: Node) -> Any:
    tag, payload = node
    if tag == TEXT:
        return payload
    if tag == EXPRESSION:
        return _to_dollar_string(payload)
    if tag == INT:
        return int(payload)
    if tag == FLOAT:
        if "e" in payload.lower():  # hcl2 keeps scientific notation as an expression
            return "${" + payload + "}"
        return float(payload)
    if tag == KEYWORD:
        return _KEYWORD_VALUES[payload]
    if tag == TUPLE:
        return [_value(element) for element in payload]
    if tag == OBJECT:
        return {key[0]: _value(element) for key, element in payload}
    if tag == NEGATION:
        # A negated number stays a number, as in hcl2's UnaryOpRule._negate_numeric_literal.
        operand_tag, operand = payload
        if operand_tag == INT:
            return -int(operand)
        if operand_tag == FLOAT and "e" not in operand.lower():
            return -float(operand)
        return _to_dollar_string("-" + _dollar(payload))
    # PARENS: hcl2 formats the inner value with str(), so (true) is "${(True)}"
    return _to_dollar_string(_wrap_into_parentheses(_value(payload)))


def _dollar(node: Node) -> str:
    tag, payload = node
    if tag == TEXT or tag == EXPRESSION or tag == KEYWORD:
        return str(payload)
    if tag == INT:
        return str(int(payload))
    if tag == FLOAT:
        return str(payload) if "e" in payload.lower() else str(float(payload))
    if tag == TUPLE:
        return "[" + ", ".join(_dollar(element) for element in payload) + "]"
    if tag == OBJECT:
        return "{" + ", ".join(f"{key[1]} = {_dollar(element)}" for key, element in payload) + "}"
    if tag == NEGATION:
        return "-" + _dollar(payload)
    return str(_wrap_into_parentheses(_dollar(payload)))  # PARENS


_KEYWORD_VALUES: dict[str, Any] = {"true": True, "false": False, "null": None}


# hcl2.utils' helpers, as they are: a value already in "${...}" is not wrapped again.
def _is_dollar_string(value: str) -> bool:
    return value.startswith("${") and value.endswith("}")


def _to_dollar_string(value: str) -> str:
    return value if _is_dollar_string(value) else "${" + value + "}"


def _wrap_into_parentheses(value: Any) -> str:
    if isinstance(value, str) and _is_dollar_string(value):
        return "${(" + value[2:-1] + ")}"
    return f"({value})"


def _heredoc(token: str) -> str:
    """A heredoc as hcl2 writes it without preserve_heredocs: a quoted string with escapes."""
    trim = token.startswith("<<-")
    match = (_HEREDOC_TRIM_PATTERN if trim else _HEREDOC_PATTERN).match(token)
    if match is None:
        raise Unsupported("heredoc that hcl2 cannot read back")
    body = _strip_closing_marker_line(match.group(2))
    if not trim:
        return '"' + body.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    lines = body.split("\n")
    # The indentation removed is the smallest run of leading spaces over the non-blank lines.
    indent = min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), default=0)
    return '"' + "\\n".join(line[indent:].replace("\\", "\\\\").replace('"', '\\"') for line in lines) + '"'


# hcl2.utils' patterns: greedy, so the body runs to the last occurrence of the marker.
_HEREDOC_PATTERN = re.compile(r"<<([a-zA-Z][a-zA-Z0-9._-]*)\r?\n([\s\S]*)\1")
_HEREDOC_TRIM_PATTERN = re.compile(r"<<-([a-zA-Z][a-zA-Z0-9._-]*)\r?\n([\s\S]*)\1")
_TRAILING_BLANKS_RE = re.compile(r"[ \t]*\Z")
_TRAILING_NEWLINE_RE = re.compile(r"\r?\n\Z")


def _strip_closing_marker_line(text: str) -> str:
    return _TRAILING_NEWLINE_RE.sub("", _TRAILING_BLANKS_RE.sub("", text))


# --- entry point -------------------------------------------------------------------------------


def parse(text: str) -> dict[str, Any]:
    """The dict python-hcl2 8 gives for `text` (without comments, heredocs as strings).

    Raises Unsupported for anything it does not reproduce exactly, invalid HCL included.
    """
    # hcl2 appends a newline too: its grammar needs one after a final comment or heredoc marker.
    parser = _Parser(text + "\n")
    try:
        return parser.body(True)
    except RecursionError:
        raise Unsupported("expression nested too deeply") from None
    except ValueError as error:  # int() of a literal longer than Python's digit limit
        raise Unsupported(str(error)) from None
