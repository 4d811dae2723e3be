"""What a resource argument evaluates to, statically: a topic, a secret name, a bucket.

An expression resolves to a set of values, each ``Text`` (known exactly), ``Prefix`` (known to start with a text,
e.g. ``GATEWAY_LOGIN_PREFIX + gateway_id``) or ``Unknown`` (with the reason). Followed, in a principal's reachable
code only:

- literals, f-strings and ``+`` of strings; module constants, also through ``from m import X`` and ``m.X``;
- a local variable to its assignments; a parameter to the arguments of every call of its function (a method's
  ``self`` skipped, a constructor's calls of the class and of its subclasses that keep its ``__init__``);
- ``self.x`` to the assignments of ``self.x`` in the class; a call of a first-party function to its returns, with
  the arguments bound;
- ``<...>settings.<field>`` to the field's default in the principal's settings classes, unless terraform sets that
  field's environment variable for the principal (then to terraform's value, e.g. a bucket's name).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from iamcheck.code import Module

MAX_DEPTH = 12
WILDCARD = "\uffff"  # an f-string's part that does not resolve (a project id, a request's value)


@dataclass(frozen=True, order=True)
class Text:
    value: str


@dataclass(frozen=True, order=True)
class Prefix:
    value: str


@dataclass(frozen=True, order=True)
class Unknown:
    why: str


Value = Text | Prefix | Unknown


@dataclass(frozen=True)
class SettingField:
    """One field of a settings class: its environment variable names and its default expression."""

    name: str
    env: frozenset[str]
    default: ast.expr | None
    module: Module
    secret: bool  # annotated SecretStr


@dataclass
class Resolver:
    """Resolves expressions within one principal's modules."""

    modules: list[Module]
    settings: dict[str, SettingField] = field(default_factory=dict)
    env_values: dict[str, Value] = field(default_factory=dict)  # env var → the value terraform sets

    def __post_init__(self) -> None:
        self.by_name = {m.name: m for m in self.modules}

    # ---- entry ---------------------------------------------------------------------------------------------------

    def values(self, expr: ast.expr, module: Module, bindings: dict[str, tuple[ast.expr, Module]] | None = None,
               depth: int = 0) -> frozenset[Value]:
        """Every value ``expr`` (in ``module``) may have."""
        if depth > MAX_DEPTH:
            return frozenset({Unknown(f"too deep at {module.name}:{expr.lineno}")})
        return frozenset(self._values(expr, module, bindings or {}, depth + 1))

    # ---- cases ---------------------------------------------------------------------------------------------------

    def _values(self, expr: ast.expr, module: Module, bindings: dict[str, tuple[ast.expr, Module]],
                depth: int) -> Iterator[Value]:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            yield Text(expr.value)
        elif isinstance(expr, ast.JoinedStr):
            yield from self._joined(expr, module, bindings, depth)
        elif isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            for left in self.values(expr.left, module, bindings, depth):
                for right in self.values(expr.right, module, bindings, depth):
                    yield _concat(left, right)
        elif isinstance(expr, ast.Name):
            yield from self._name(expr, module, bindings, depth)
        elif isinstance(expr, ast.Attribute):
            yield from self._attribute(expr, module, bindings, depth)
        elif isinstance(expr, ast.Call):
            yield from self._call(expr, module, bindings, depth)
        else:
            yield Unknown(f"{type(expr).__name__} at {module.name}:{getattr(expr, 'lineno', '?')}")

    def _joined(self, expr: ast.JoinedStr, module: Module, bindings: dict[str, tuple[ast.expr, Module]],
                depth: int) -> Iterator[Value]:
        results: list[Value] = [Text("")]
        for part in expr.values:
            parts = (self.values(part.value, module, bindings, depth) if isinstance(part, ast.FormattedValue)
                     else self.values(part, module, bindings, depth))
            known = {p if not isinstance(p, Unknown) else Text(WILDCARD) for p in parts}
            results = [_concat(r, p) for r in results for p in known]
        yield from results

    def _name(self, expr: ast.Name, module: Module, bindings: dict[str, tuple[ast.expr, Module]],
              depth: int) -> Iterator[Value]:
        if expr.id in bindings:
            bound, where = bindings[expr.id]
            yield from self.values(bound, where, None, depth)
            return
        function = module.enclosing(expr, (ast.FunctionDef, ast.AsyncFunctionDef))
        while function is not None:
            assert isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
            assigned = list(_assignments(function, expr.id))
            if assigned:
                for value in assigned:
                    yield from self.values(value, module, None, depth)
                return
            params = [a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)]
            if expr.id in params:
                yield from self._parameter(function, expr.id, module, depth)
                return
            function = module.enclosing(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        yield from self._global(expr.id, module, depth)

    def _global(self, name: str, module: Module, depth: int) -> Iterator[Value]:
        for node in module.tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                yield from self.values(node.value, module, None, depth)
                return
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name
                    and node.value is not None):
                yield from self.values(node.value, module, None, depth)
                return
        for base, imported, alias in _from_imports(module):
            if alias == name:
                source = self.by_name.get(base)
                if source is not None:
                    yield from self._global(imported, source, depth + 1)
                    return
        yield Unknown(f"name {name!r} in {module.name}")

    def _parameter(self, function: ast.FunctionDef | ast.AsyncFunctionDef, param: str, module: Module,
                   depth: int) -> Iterator[Value]:
        positional = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        cls = module.enclosing(function, ast.ClassDef)
        is_method = isinstance(cls, ast.ClassDef) and positional[:1] in (["self"], ["cls"])
        index = positional.index(param) - (1 if is_method else 0) if param in positional else None
        found = False
        for call, where in self._calls_of(function, cls if isinstance(cls, ast.ClassDef) else None, module):
            argument = _argument(call, index, param)
            if argument is not None:
                found = True
                yield from self.values(argument, where, None, depth)
        if not found:
            default = _default(function, param)
            if default is not None:
                yield from self.values(default, module, None, depth)
            else:
                yield Unknown(f"parameter {param!r} of {function.name} in {module.name}: no call passes it")

    def _calls_of(self, function: ast.FunctionDef | ast.AsyncFunctionDef, cls: ast.ClassDef | None,
                  module: Module) -> Iterator[tuple[ast.Call, Module]]:
        if cls is not None and function.name == "__init__":
            names = {cls.name} | self._subclasses_keeping_init(cls.name)
        else:
            names = {function.name}
        for other in self.modules:
            for node in other.calls:
                if _callee(node) in names:
                    yield node, other

    def _subclasses_keeping_init(self, name: str) -> set[str]:
        found: set[str] = set()
        for module in self.modules:
            for node in module.nodes:
                if not isinstance(node, ast.ClassDef) or not any(_base_name(b) == name for b in node.bases):
                    continue
                if not any(isinstance(s, ast.FunctionDef) and s.name == "__init__" for s in node.body):
                    found |= {node.name} | self._subclasses_keeping_init(node.name)
        return found

    def _attribute(self, expr: ast.Attribute, module: Module, bindings: dict[str, tuple[ast.expr, Module]],
                   depth: int) -> Iterator[Value]:
        if _is_settings(expr.value) and expr.attr in self.settings:
            yield from self.setting(expr.attr, depth)
            return
        if isinstance(expr.value, ast.Name) and expr.value.id == "self":
            cls = module.enclosing(expr, ast.ClassDef)
            if isinstance(cls, ast.ClassDef):
                assigned = [(v, m) for v, m in self._self_assignments(cls, expr.attr, module)]
                if assigned:
                    for value, where in assigned:
                        yield from self.values(value, where, None, depth)
                    return
        if isinstance(expr.value, ast.Name):
            target = self._module_alias(expr.value.id, module)
            if target is not None:
                yield from self._global(expr.attr, target, depth)
                return
        yield Unknown(f"attribute {ast.unparse(expr)} in {module.name}:{expr.lineno}")

    def setting(self, name: str, depth: int = 0) -> Iterator[Value]:
        """A settings field's value: terraform's for its environment variable, else its default."""
        spec = self.settings[name]
        for env in sorted(spec.env):
            if env in self.env_values:
                yield self.env_values[env]
                return
        if spec.default is None:
            yield Unknown(f"setting {name!r} has no default and terraform does not set it")
        else:
            yield from self.values(spec.default, spec.module, None, depth)

    def _self_assignments(self, cls: ast.ClassDef, attr: str, module: Module) -> Iterator[tuple[ast.expr, Module]]:
        for node in ast.walk(cls):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if (isinstance(target, ast.Attribute) and target.attr == attr
                            and isinstance(target.value, ast.Name) and target.value.id == "self"
                            and node.value is not None):
                        yield node.value, module

    def _module_alias(self, name: str, module: Module) -> Module | None:
        for node in module.nodes:
            if isinstance(node, ast.Import):
                for imported_alias in node.names:
                    if (imported_alias.asname or imported_alias.name) == name:
                        return self.by_name.get(imported_alias.name)
        for base, imported, alias in _from_imports(module):
            if alias == name:
                return self.by_name.get(f"{base}.{imported}")
        return None

    def _call(self, expr: ast.Call, module: Module, bindings: dict[str, tuple[ast.expr, Module]],
              depth: int) -> Iterator[Value]:
        if isinstance(expr.func, ast.Name) and expr.func.id == "str" and len(expr.args) == 1:
            yield from self.values(expr.args[0], module, bindings, depth)
            return
        target = self._function(expr, module)
        if target is None:
            yield Unknown(f"call {ast.unparse(expr.func)} in {module.name}:{expr.lineno}")
            return
        function, where = target
        positional = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        bound = {positional[i]: (arg, module) for i, arg in enumerate(expr.args) if i < len(positional)}
        bound |= {k.arg: (k.value, module) for k in expr.keywords if k.arg}
        returns = [n.value for n in ast.walk(function) if isinstance(n, ast.Return) and n.value is not None]
        if not returns:
            yield Unknown(f"{function.name} returns nothing")
        for value in returns:
            yield from self.values(value, where, bound, depth)

    def _function(self, call: ast.Call, module: Module) -> tuple[ast.FunctionDef, Module] | None:
        if not isinstance(call.func, ast.Name):
            return None
        name = call.func.id
        local = _top_function(module, name)
        if local is not None:
            return local, module
        for base, imported, alias in _from_imports(module):
            source = self.by_name.get(base)
            if alias == name and source is not None:
                found = _top_function(source, imported)
                if found is not None:
                    return found, source
        return None


# ---- helpers ---------------------------------------------------------------------------------------------------


def _concat(left: Value, right: Value) -> Value:
    if isinstance(left, Unknown):
        return left
    if isinstance(left, Prefix):
        return left
    if isinstance(right, Text):
        return Text(left.value + right.value)
    return Prefix(left.value + (right.value if isinstance(right, Prefix) else ""))


def _assignments(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> Iterator[ast.expr]:
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    yield node.value
                elif isinstance(target, ast.Tuple) and any(isinstance(e, ast.Name) and e.id == name
                                                           for e in target.elts):
                    yield ast.Name(id="<unpacked>", lineno=node.lineno, col_offset=0)
        elif (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name
              and node.value is not None):
            yield node.value


_FROM_IMPORTS: dict[int, list[tuple[str, str, str]]] = {}


def _from_imports(module: Module) -> list[tuple[str, str, str]]:
    """(module, name, local alias) of every ``from module import name [as alias]`` (computed once per tree)."""
    key = id(module.tree)
    if key not in _FROM_IMPORTS:
        aliases = {a.name: a.asname for node in module.nodes if isinstance(node, ast.ImportFrom)
                   for a in node.names if a.asname}
        _FROM_IMPORTS[key] = [(base, imported, aliases.get(imported, imported))
                              for base, imported in module.import_list if imported is not None]
    return _FROM_IMPORTS[key]


def _top_function(module: Module, name: str) -> ast.FunctionDef | None:
    for node in module.tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    return None


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _base_name(base: ast.expr) -> str | None:
    if isinstance(base, ast.Name):
        return base.id
    if isinstance(base, ast.Attribute):
        return base.attr
    if isinstance(base, ast.Subscript):
        return _base_name(base.value)
    return None


def _argument(call: ast.Call, index: int | None, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if index is not None and 0 <= index < len(call.args) and not isinstance(call.args[index], ast.Starred):
        return call.args[index]
    return None


def _default(function: ast.FunctionDef | ast.AsyncFunctionDef, param: str) -> ast.expr | None:
    positional = [*function.args.posonlyargs, *function.args.args]
    offset = len(positional) - len(function.args.defaults)
    for i, arg in enumerate(positional):
        if arg.arg == param and i >= offset:
            return function.args.defaults[i - offset]
    for arg, default in zip(function.args.kwonlyargs, function.args.kw_defaults, strict=True):
        if arg.arg == param and default is not None:
            return default
    return None


def _is_settings(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Name):
        return "settings" in expr.id.lower()
    if isinstance(expr, ast.Attribute):
        return "settings" in expr.attr.lower()
    return False


def settings_fields(modules: Iterable[Module]) -> dict[str, SettingField]:
    """Every field of every settings class (a subclass of ``BaseSettings``/``CommonSettings``, transitively)."""
    classes: dict[str, tuple[ast.ClassDef, Module]] = {}
    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef):
                classes[node.name] = (node, module)
    settings_like = {"BaseSettings"}
    changed = True
    while changed:
        changed = False
        for name, (node, _) in classes.items():
            if name not in settings_like and any(_base_name(b) in settings_like for b in node.bases):
                settings_like.add(name)
                changed = True
    found: dict[str, SettingField] = {}
    for name in settings_like - {"BaseSettings"}:
        node, module = classes[name]
        prefix = _env_prefix(node) if name != "CommonSettings" else "SPREADPILOT_"
        prefix = prefix or "SPREADPILOT_"
        for statement in node.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                field_name = statement.target.id
                if field_name == "model_config":
                    continue
                env, default = _field_spec(statement, prefix + field_name.upper())
                secret = "SecretStr" in ast.unparse(statement.annotation)
                found[field_name] = SettingField(field_name, env, default, module, secret)
    return found


def _env_prefix(node: ast.ClassDef) -> str:
    for statement in node.body:
        if (isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "model_config"
                                                      for t in statement.targets)
                and isinstance(statement.value, ast.Call)):
            for keyword in statement.value.keywords:
                if keyword.arg == "env_prefix" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
    return ""


def _field_spec(statement: ast.AnnAssign, default_env: str) -> tuple[frozenset[str], ast.expr | None]:
    value = statement.value
    if isinstance(value, ast.Call) and _callee(value) == "Field":
        env: set[str] = set()
        default: ast.expr | None = value.args[0] if value.args else None
        for keyword in value.keywords:
            if keyword.arg == "default":
                default = keyword.value
            elif keyword.arg in ("validation_alias", "alias"):
                env |= {c.value for c in ast.walk(keyword.value)
                        if isinstance(c, ast.Constant) and isinstance(c.value, str)}
        return frozenset(env or {default_env}), default
    return frozenset({default_env}), value
