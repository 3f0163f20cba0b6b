"""Which parts of its context a template reads, worked out from the template's source.

A page's fingerprint should change when something the page shows changes, and not otherwise:
every page's menu walks `categories`, a list of (category, articles) pairs, but reads only each
category's name and URL, so editing a post must not re-render every page. `template_usage` reads
a template, every template it extends, includes and imports, and returns for each context variable
a `Usage`: which attributes and items of it are read, whether it is iterated (and how each
element is used), whether only its length counts, or whether it is used `whole` (printed,
compared, passed to a function: then all of it counts).

The analysis errs on the side of `whole`: any expression it does not understand makes the value
involved count entirely. A template included or imported under a name computed at render time
gives it no `roots`: the whole context counts. A template whose own source cannot be read (not by
the loader that renders it) makes `template_usage` return None: nothing is known of it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from jinja2 import Environment, TemplateNotFound, nodes

# Filters that hand on the same elements (in another order): how the elements are used stays known.
_SAME_ELEMENTS = {"sort", "reverse", "list"}
# Filters whose result is a number computed from the length alone.
_LENGTH = {"count", "length"}
# Filters that return their input when it is defined.
_PASS_THROUGH = {"default", "d"}
# Filters whose result is made from the subject's text alone (as when it is printed).
_TEXT = {"e", "escape", "striptags", "string"}
# Tests that only ask whether a value is there.
_EXISTENCE = {"defined", "undefined", "none"}
# Names Jinja itself provides; they are never context variables.
_BUILTINS = {"loop", "caller", "varargs", "kwargs", "self", "super", "range", "dict", "lipsum", "cycler",
             "joiner", "namespace", "true", "false", "none", "True", "False", "None"}


@dataclass(eq=False)
class Usage:
    """How a value is read. An empty Usage means only that it exists (or how many times a loop ran)."""

    whole: bool = False
    length: bool = False
    truth: bool = False  # tested in an {% if %}: whether it is empty or false counts
    text: bool = False  # printed ({{ x }}): its text counts
    compared: bool = False  # compared with == or !=: what it is equal to counts
    items: dict = field(default_factory=dict)  # attribute or constant key -> Usage
    elements: Usage | None = None  # how each element is used when iterated

    def item(self, key) -> Usage:
        found = self.items.get(key)
        if found is None:
            found = self.items[key] = Usage()
        return found

    def element(self) -> Usage:
        if self.elements is None:
            self.elements = Usage()
        return self.elements


class _Dynamic(Exception):
    """A template named at render time: the analysis cannot follow it."""


class _Analysis:
    def __init__(self, env: Environment):
        self.env = env
        self.roots: dict[str, Usage] = {}
        self.sources: list[tuple[str, str, str]] = []  # (name, filename, source)
        self._active: list[str] = []  # templates being walked (an include of itself stops there)
        self._walked: set[str] = set()
        self._aliases: list[tuple[Usage, Usage]] = []  # (a list of some elements, how all elements are read)
        # A template's top-level {% set %} is seen by the template it extends (a child sets
        # share_title, the parent's partial prints it): name -> the values assigned to it there.
        self._top_scopes: list[dict] = []
        self.exported: dict[str, list[Usage]] = {}

    # templates --------------------------------------------------------------------------------
    def template(self, name: str, scope: dict) -> None:
        if name in self._active:
            return
        if not scope:  # without loop variables in scope, walking a template twice adds nothing
            if name in self._walked:
                return
            self._walked.add(name)
        try:
            source, filename, _ = self.env.loader.get_source(self.env, name)
        except TemplateNotFound:
            if not self._active:
                raise  # the template itself: nothing is known of what it reads
            self.sources.append((name, "", ""))  # `ignore missing`, or an error the render reports
            return
        self.sources.append((name, filename or "", source))
        self._active.append(name)
        self._top_scopes.append(scope)
        try:
            self.body(self.env.parse(source, name, filename).body, scope)
        finally:
            self._active.pop()
            self._top_scopes.pop()

    def _template_name(self, node) -> str:
        if isinstance(node, nodes.Const) and isinstance(node.value, str):
            return node.value
        raise _Dynamic()

    # statements -------------------------------------------------------------------------------
    def body(self, statements, scope: dict) -> None:
        for statement in statements:
            self.statement(statement, scope)

    def statement(self, node, scope: dict) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if not isinstance(child, nodes.TemplateData):
                    self.expr(child, scope).text = True
        elif isinstance(node, nodes.For):
            iterated = self.expr(node.iter, scope)
            inner = dict(scope)
            self.bind(node.target, iterated.element(), inner)
            # loop.previtem and loop.nextitem are elements too (loop's numbers follow from them all).
            inner["loop"] = Usage(items={"previtem": iterated.element(), "nextitem": iterated.element()})
            if node.test is not None:
                self.test(node.test, inner)
            self.body(node.body, inner)
            self.body(node.else_, scope)
        elif isinstance(node, nodes.If):
            self.test(node.test, scope)
            self.body(node.body, scope)
            for elif_ in node.elif_:
                self.statement(elif_, scope)
            self.body(node.else_, scope)
        elif isinstance(node, nodes.Assign):
            value = self.expr(node.node, scope)
            self.bind(node.target, value, scope)
            if isinstance(node.target, nodes.Name) and any(scope is top for top in self._top_scopes):
                self.exported.setdefault(node.target.name, []).append(value)
        elif isinstance(node, nodes.AssignBlock):
            self.body(node.body, scope)
            self.bind(node.target, Usage(), scope)
        elif isinstance(node, nodes.With):
            inner = dict(scope)
            for target, value in zip(node.targets, node.values, strict=True):
                self.bind(target, self.expr(value, scope), inner)
            self.body(node.body, inner)
        elif isinstance(node, nodes.Block):
            self.body(node.body, scope)
        elif isinstance(node, nodes.Extends):
            self.template(self._template_name(node.template), {})
        elif isinstance(node, nodes.Include):
            if isinstance(node.template, (nodes.List, nodes.Tuple)):
                for choice in node.template.items:
                    self.template(self._template_name(choice), scope if node.with_context else {})
            else:
                self.template(self._template_name(node.template), scope if node.with_context else {})
        elif isinstance(node, (nodes.Import, nodes.FromImport)):
            self.template(self._template_name(node.template), {})
        elif isinstance(node, (nodes.Macro, nodes.CallBlock)):
            inner = dict(scope)
            for arg in node.args:
                inner[arg.name] = Usage(whole=True)
            for default in node.defaults:
                self.whole(default, scope)
            if isinstance(node, nodes.CallBlock):
                self.whole(node.call, scope)
            self.body(node.body, inner)
        elif isinstance(node, nodes.FilterBlock):
            self.body(node.body, scope)
            self.whole(node.filter, scope)
        elif isinstance(node, nodes.ExprStmt):
            self.whole(node.node, scope)
        elif isinstance(node, (nodes.Scope, nodes.ScopedEvalContextModifier, nodes.EvalContextModifier)):
            self.body(node.body, scope)
        else:
            for child in node.iter_child_nodes():  # anything else: every expression in it counts whole
                if isinstance(child, nodes.Expr):
                    self.whole(child, scope)
                else:
                    self.statement(child, scope)

    def bind(self, target, usage: Usage, scope: dict) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = usage
        elif isinstance(target, (nodes.Tuple, nodes.List)):
            for index, item in enumerate(target.items):
                self.bind(item, usage.item(index), scope)
        elif isinstance(target, nodes.NSRef):
            # ns.attr = value: whatever is read of ns.attr later is read of the value, which this
            # analysis does not follow through the namespace object: all of the value counts.
            usage.whole = True
        else:
            usage.whole = True

    # expressions ------------------------------------------------------------------------------
    def whole(self, node, scope: dict) -> None:
        self.expr(node, scope).whole = True

    def test(self, node, scope: dict) -> None:
        """A condition: a plain reference counts by its truth, anything else whole."""
        if isinstance(node, (nodes.Name, nodes.Getattr)) or (
                isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const)):
            self.expr(node, scope).truth = True
        elif isinstance(node, nodes.Not):
            self.test(node.node, scope)
        elif isinstance(node, (nodes.And, nodes.Or)):
            self.test(node.left, scope)
            self.test(node.right, scope)
        else:
            self.expr(node, scope).whole = True

    def expr(self, node, scope: dict) -> Usage:
        """The Usage standing for this expression's value (refine it, or mark it whole)."""
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name]
            if node.name in _BUILTINS:
                return Usage()
            found = self.roots.get(node.name)
            if found is None:
                found = self.roots[node.name] = Usage()
            return found
        if isinstance(node, nodes.Getattr):
            return self.expr(node.node, scope).item(node.attr)
        if isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Const):
                return self.expr(node.node, scope).item(node.arg.value)
            self.whole(node.node, scope)
            self.whole(node.arg, scope)
            return Usage()
        if isinstance(node, nodes.Filter):
            return self.filter(node, scope)
        if isinstance(node, nodes.Call):
            if isinstance(node.node, nodes.Getattr):  # a method: what it reads of its object is unknown
                self.whole(node.node.node, scope)
            else:
                self.whole(node.node, scope)
            for child in (*node.args, *(kw.value for kw in node.kwargs), node.dyn_args, node.dyn_kwargs):
                if child is not None:
                    self.whole(child, scope)
            return Usage()
        if isinstance(node, (nodes.Const, nodes.TemplateData)):
            return Usage()
        if isinstance(node, nodes.Test) and node.name in _EXISTENCE:
            self.expr(node.node, scope)  # registered: whether it exists counts, not what it holds
            return Usage()
        if isinstance(node, nodes.CondExpr):
            self.test(node.test, scope)
            for branch in (node.expr1, node.expr2):
                if branch is not None:
                    self.whole(branch, scope)
            return Usage()
        if isinstance(node, nodes.Compare) and all(op.op in ("eq", "ne") for op in node.ops):
            for operand in (node.expr, *(op.expr for op in node.ops)):
                self.expr(operand, scope).compared = True
            return Usage()
        if isinstance(node, (nodes.And, nodes.Or, nodes.Not)):
            self.test(node, scope)  # as a value, `a or b` is one of them: their truth, then whole
            for operand in ((node.node,) if isinstance(node, nodes.Not) else (node.left, node.right)):
                self.whole(operand, scope)
            return Usage()
        for child in node.iter_child_nodes():  # operators, tests, literals, conditionals: whole
            if isinstance(child, nodes.Expr):
                self.whole(child, scope)
            elif isinstance(child, nodes.Keyword):
                self.whole(child.value, scope)
            elif isinstance(child, nodes.Operand):
                self.whole(child.expr, scope)
        return Usage()

    def filter(self, node: nodes.Filter, scope: dict) -> Usage:
        arguments = [*node.args, *(kw.value for kw in node.kwargs), node.dyn_args, node.dyn_kwargs]
        if node.node is None:  # {% filter %} block filter: its input is the block's text
            for child in arguments:
                if child is not None:
                    self.whole(child, scope)
            return Usage()
        subject = self.expr(node.node, scope)
        if node.name in _LENGTH and not node.args and not node.kwargs:
            subject.length = True
            return Usage()
        if node.name in _TEXT and not node.args and not node.kwargs:
            subject.text = True
            return Usage()
        if node.name in _PASS_THROUGH:
            for child in arguments:
                if child is not None:
                    self.whole(child, scope)
            return subject
        if (node.name == "groupby" and len(node.args) == 1 and isinstance(node.args[0], nodes.Const)
                and not node.kwargs and not node.dyn_args and not node.dyn_kwargs):
            # (grouper, [elements]) pairs: the elements are the subject's, read as the loop reads them.
            elements = subject.element()
            self._path(elements, str(node.args[0].value)).whole = True
            subject.length = True
            group = Usage()
            group.item(0).whole = True
            self._aliases.append((group.item(1), elements))
            group.item(1).elements = elements
            return Usage(elements=group)
        if node.name in _SAME_ELEMENTS and not node.dyn_args and not node.dyn_kwargs:
            for child in node.args:
                self.whole(child, scope)
            for keyword in node.kwargs:
                if keyword.key == "attribute" and isinstance(keyword.value, nodes.Const):
                    self._path(subject.element(), str(keyword.value.value)).whole = True
                else:
                    self.whole(keyword.value, scope)
            subject.length = True
            return subject
        subject.whole = True
        for child in arguments:
            if child is not None:
                self.whole(child, scope)
        return Usage()

    @staticmethod
    def _path(usage: Usage, dotted: str) -> Usage:
        for part in dotted.split("."):
            usage = usage.item(int(part) if part.isdigit() else part)
        return usage


@dataclass(frozen=True)
class TemplateUsage:
    roots: dict[str, Usage] | None  # None: a template is named at render time; the whole context counts
    sources: tuple  # (name, filename, source) of every template walked


def template_usage(env: Environment, name: str) -> TemplateUsage | None:
    """How the template `name` of `env` reads its context; None if its source cannot be read."""
    if env.loader is None:
        return None
    analysis = _Analysis(env)
    try:
        analysis.template(name, {})
    except _Dynamic:
        return TemplateUsage(None, tuple(analysis.sources))
    except TemplateNotFound:
        return None
    for name, values in analysis.exported.items():
        read = analysis.roots.get(name)
        if read is not None:  # read by a template walked without the assignment in scope
            read = copy.deepcopy(read)  # (a value may hold it: {% set page = page.next %})
            for value in values:
                _merge(value, read)
    for group, elements in analysis._aliases:
        for item in group.items.values():  # group[0] is one of the elements too
            _merge(elements, item)
        group.items.clear()
    return TemplateUsage(analysis.roots, tuple(analysis.sources))


def _merge(into: Usage, usage: Usage) -> None:
    """Add what `usage` reads to `into`."""
    for flag in ("whole", "length", "truth", "text", "compared"):
        if getattr(usage, flag):
            setattr(into, flag, True)
    for key, sub in usage.items.items():
        _merge(into.item(key), sub)
    if usage.elements is not None and usage.elements is not into.elements:
        _merge(into.element(), usage.elements)
