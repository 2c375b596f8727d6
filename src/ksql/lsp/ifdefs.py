"""The lines a configuration compiles out: ``#if``/``#ifdef``/``#ifndef``/``#elif``/
``#else``/``#endif`` of a document evaluated over the kernel configuration (the rules of
:mod:`ksql.kernel.kconfig`: ``CONFIG_*``, ``defined``, ``IS_ENABLED`` and its siblings;
``MODULE`` when the file's membership is known). Any other macro is unknown, and a
condition that depends on one is "maybe": only code that is certainly compiled out is
reported, so a diagnostic is never hidden by a guess. Pure: text and configuration in,
line numbers out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from ksql.kernel import kconfig
from ksql.values import frozen

_DIRECTIVE = re.compile(r"^\s*#\s*(if|ifdef|ifndef|elif|else|endif|elifdef|elifndef)\b(.*)$")
_TOKEN = re.compile(
    r"\s*(?:(?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*|(?P<id>[A-Za-z_]\w*)|"
    r"(?P<op>\|\||&&|==|!=|<=|>=|<<|>>|[-+*/%!~<>&|^?:(),])|(?P<chr>'(?:\\.|[^'])*'))"
)
_COMMENT = re.compile(r"/\*.*?\*/|//.*$")

Value = int | None  # None: depends on a macro the configuration does not define


@frozen
class Env:
    config: Mapping[str, str]
    module: bool | None = None  # built as part of a module (``MODULE`` defined)

    def is_defined(self, name: str) -> bool | None:
        if name == "MODULE":
            return self.module
        if name == "__KERNEL__":
            return True
        return kconfig.is_defined(name, self.config)

    def value(self, name: str) -> Value:
        if name == "MODULE" and self.module is not None:
            return int(self.module)
        return kconfig.defined(name, self.config)


def disabled_lines(text: str, env: Env) -> set[int]:
    """0-based lines of ``text`` that ``env`` certainly compiles out; none without a
    configuration (every ``CONFIG_*`` would read as unset)."""
    out: set[int] = set()
    if not env.config:
        return out
    # Per open group: (this branch's state, whether an earlier branch was taken); a state
    # is True (compiled), False (compiled out) or None (unknown).
    stack: list[tuple[bool | None, bool | None]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        first = i
        while line.endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line[:-1] + " " + lines[i]
        m = _DIRECTIVE.match(line)
        if m is not None:
            _directive(m.group(1), _COMMENT.sub(" ", m.group(2)), env, stack)
            i += 1
            continue
        if any(state is False for state, _ in stack):
            out.update(range(first, i + 1))
        i += 1
    return out


def _directive(
    word: str, rest: str, env: Env, stack: list[tuple[bool | None, bool | None]]
) -> None:
    if word in ("if", "ifdef", "ifndef"):
        state = _condition(word, rest, env)
        stack.append((state, state))
    elif word in ("elif", "elifdef", "elifndef") and stack:
        _, taken = stack.pop()
        if taken is True:
            stack.append((False, True))
        else:
            cond = _condition(word[2:] if word != "elif" else "if", rest, env)
            state = cond if taken is False else (False if cond is False else None)
            stack.append((state, _either(taken, cond)))
    elif word == "else" and stack:
        _, taken = stack.pop()
        stack.append((None if taken is None else not taken, True))
    elif word == "endif" and stack:
        stack.pop()


def _either(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def _condition(word: str, rest: str, env: Env) -> bool | None:
    if word in ("ifdef", "ifndef"):
        name = rest.split()[0] if rest.split() else ""
        found = env.is_defined(name)
        return found if found is None or word == "ifdef" else not found
    try:
        value = evaluate(rest, env)
    except (ValueError, IndexError, ZeroDivisionError):
        return None
    return None if value is None else value != 0


def evaluate(expr: str, env: Env) -> Value:
    """The value of a preprocessor expression; None when it depends on an unknown macro.
    Raises ValueError on text it cannot read."""
    tokens = _tokens(expr)
    parser = _Parser(tokens, env)
    value = parser.ternary()
    if parser.at < len(tokens):
        raise ValueError(f"unexpected {tokens[parser.at]!r}")
    return value


def _tokens(expr: str) -> list[str]:
    out, at, expr = [], 0, expr.strip()
    while at < len(expr):
        m = _TOKEN.match(expr, at)
        if m is None or m.end() == at:
            raise ValueError(f"cannot read {expr[at:]!r}")
        out.append("'" if m.group("chr") else (m.group("num") or m.group("id") or m.group("op")))
        at = m.end()
    return [t for t in out if t]


# Binary operators by precedence, loosest first (C11 6.5).
_BINARY: list[tuple[str, ...]] = [
    ("|",),
    ("^",),
    ("&",),
    ("==", "!="),
    ("<", ">", "<=", ">="),
    ("<<", ">>"),
    ("+", "-"),
    ("*", "/", "%"),
]
_OPS: dict[str, Callable[[int, int], int]] = {
    "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b),
    "<": lambda a, b: int(a < b),
    ">": lambda a, b: int(a > b),
    "<=": lambda a, b: int(a <= b),
    ">=": lambda a, b: int(a >= b),
    "<<": lambda a, b: a << b,
    ">>": lambda a, b: a >> b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: int(a / b),
    "%": lambda a, b: a % b,
    "|": lambda a, b: a | b,
    "^": lambda a, b: a ^ b,
    "&": lambda a, b: a & b,
}


def _or(a: Value, b: Value) -> Value:
    if a or b:  # one side known true decides
        return 1
    return None if a is None or b is None else 0


def _and(a: Value, b: Value) -> Value:
    if a == 0 or b == 0:  # one side known false decides
        return 0
    return None if a is None or b is None else 1


class _Parser:
    """Recursive descent over C's preprocessor operator precedence, three-valued."""

    def __init__(self, tokens: list[str], env: Env) -> None:
        self.tokens, self.env, self.at = tokens, env, 0

    def peek(self) -> str:
        return self.tokens[self.at] if self.at < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.tokens[self.at]
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r}, not {token!r}")
        self.at += 1
        return token

    def ternary(self) -> Value:
        cond = self.logical_or()
        if self.peek() != "?":
            return cond
        self.take("?")
        yes = self.ternary()
        self.take(":")
        no = self.ternary()
        if cond is None:
            return yes if yes == no else None
        return yes if cond else no

    def logical_or(self) -> Value:
        left = self.logical_and()
        while self.peek() == "||":
            self.take()
            right = self.logical_and()
            left = _or(left, right)
        return left

    def logical_and(self) -> Value:
        left = self.binary(0)
        while self.peek() == "&&":
            self.take()
            right = self.binary(0)
            left = _and(left, right)
        return left

    def binary(self, level: int) -> Value:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() in _BINARY[level]:
            op = self.take()
            right = self.binary(level + 1)
            left = None if left is None or right is None else _OPS[op](left, right)
        return left

    def unary(self) -> Value:
        token = self.take()
        if token in ("!", "-", "~", "+"):
            value = self.unary()
            if value is None:
                return None
            return {"!": int(not value), "-": -value, "~": ~value, "+": value}[token]
        if token == "(":
            value = self.ternary()
            self.take(")")
            return value
        if token == "'":
            return None
        if token[0].isdigit():
            return (
                int(token, 16)
                if token[:2] in ("0x", "0X")
                else int(token, 8 if token[0] == "0" else 10)
            )
        return self.identifier(token)

    def identifier(self, name: str) -> Value:
        if name == "defined":
            paren = self.peek() == "("
            if paren:
                self.take("(")
            found = self.env.is_defined(self.take())
            if paren:
                self.take(")")
            return None if found is None else int(found)
        if self.peek() == "(":  # a function-like macro
            args = self.arguments()
            if name in kconfig.TESTS and len(args) == 1:
                return kconfig.test(name, args[0], self.env.config, self.env.module)
            return None
        return self.env.value(name)

    def arguments(self) -> list[str]:
        self.take("(")
        args: list[str] = []
        depth = 0
        current: list[str] = []
        while True:
            token = self.take()
            if token == "(":
                depth += 1
            elif token == ")":
                if depth == 0:
                    break
                depth -= 1
            elif token == "," and depth == 0:
                args.append(" ".join(current))
                current = []
                continue
            current.append(token)
        args.append(" ".join(current))
        return args
