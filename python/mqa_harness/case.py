"""Case: one descriptor line of the C++ case library and the tensors it determines, drawn by the
same generator and constraints as `mqa-harness fuzz` (cases()), parsed from a line (case())."""
import shlex

from ._native import core

# Constraint keywords -> what they are in the C++ GenOptions (mqa/case_random.hpp) and the CLI.
_LISTS = ("ops", "profiles", "layouts", "page_sizes", "heads", "head_dims", "next_n", "encodings")
_DEFAULTS = dict(lens_2d="any", tier="small", high_page_ids=True, special_values=True)
# Sizes: None (not given) takes the tier's ("small": 17, -1, 2048, 64; "deployed": 256, 163840,
# 2^22, 128; mqa/case_tiers.hpp), as `mqa-harness fuzz --tier` does.
_SIZES = ("max_batch", "max_len", "max_tokens", "max_heads")
CONSTRAINTS = _LISTS + tuple(_DEFAULTS) + _SIZES


def _as_list(name, v):
    if v is None or v in ("all", "any"):
        return []
    if isinstance(v, (str, int)):
        v = str(v).split(",") if isinstance(v, str) else [v]
    out = list(v)
    if name in ("page_sizes", "heads", "head_dims", "next_n"):
        try:
            out = [int(x) for x in out]
        except (TypeError, ValueError):
            raise ValueError("invalid %s = %r: expected a list of integers" % (name, v)) from None
    else:
        out = [str(x) for x in out]
    return out


def gen_options(**constraints):
    """The checked C++ GenOptions of these constraints (ValueError naming a bad one)."""
    unknown = set(constraints) - set(CONSTRAINTS)
    if unknown:
        raise ValueError("unknown constraint %s: expected one of %s" % (sorted(unknown)[0], ", ".join(CONSTRAINTS)))
    kw = {name: _as_list(name, constraints.get(name)) for name in _LISTS}
    for name, default in _DEFAULTS.items():
        v = constraints.get(name, default)
        kw[name] = v if v is not None else default
    for name in _SIZES:
        kw[name] = constraints.get(name)
    if isinstance(kw["lens_2d"], bool):
        kw["lens_2d"] = "on" if kw["lens_2d"] else "off"
    return core.gen_options(**kw)


class Case:
    """One test case. .descriptor is the one-line form (it determines every tensor); .replay is
    the command that runs it through `mqa-harness fuzz`. The tensors are built on first use."""

    def __init__(self, descriptor, index=None):
        self.descriptor = core.parse_case(descriptor)
        self.index = index
        self._t = None

    @property
    def tensors(self):
        """The C++ materialize() result (inputs and the reference outputs)."""
        if self._t is None:
            self._t = core.Tensors(self.descriptor)
        return self._t

    @property
    def op(self):
        return self.descriptor.split(" ", 1)[0].split("=", 1)[1]

    @property
    def fields(self):
        """The descriptor's key=value pairs as a dict of strings."""
        return dict(kv.split("=", 1) for kv in self.descriptor.split(" "))

    @property
    def replay(self):
        """`mqa-harness fuzz --replay '<descriptor>' --kernel <your kernel>`: the one-line command."""
        return self.replay_command()

    def replay_command(self, kernel="<your kernel>"):
        """The replay command with your kernel's --kernel argument (PATH.so, 'exec:...')."""
        return "mqa-harness fuzz --replay %s --kernel %s" % (shlex.quote(self.descriptor), kernel)

    @property
    def short(self):
        """A short id: op and the fields a reader looks at first (pytest ids)."""
        f = self.fields
        op = {"paged_logits": "paged", "ragged_logits": "ragged"}.get(f["op"], f["op"])
        parts = [op, f["layout"], "B" + f["B"], "D" + f["D"], "H" + f["H"], "n" + f["next_n"], f["enc"], f["profile"],
                 "seed" + f["seed"]]
        if self.index is not None:
            parts.insert(0, "%d" % self.index)
        return "-".join(parts)

    def inputs(self, framework="numpy", compact=False, max_pool_bytes=1 << 28, device="cpu", layout=None):
        """mqa_harness.inputs(self, ...): the tensors as a kernel takes them."""
        from .inputs import inputs
        return inputs(self, framework, compact, max_pool_bytes, device, layout)

    def output(self, framework="numpy", device="cpu"):
        from .inputs import output
        return output(self, framework, device)

    def __repr__(self):
        return "Case(%r)" % self.descriptor

    def __eq__(self, other):
        return isinstance(other, Case) and other.descriptor == self.descriptor

    def __hash__(self):
        return hash(self.descriptor)


def case(descriptor):
    """Parses one descriptor line (ValueError naming the key and the value on a bad one)."""
    return Case(descriptor)


def cases(seed=1, n=100, start=0, **constraints):
    """Yields Case i = start .. start+n-1 drawn by the C++ generator (mqa::random_case) under the
    constraints (keywords like the `mqa-harness fuzz` options: ops, profiles, layouts, page_sizes,
    heads, head_dims, next_n, encodings (lists or comma strings; None/'all'/'any' = no constraint),
    lens_2d ('on'|'off'|'any' or a bool), tier ('small' | 'deployed': the scale, as --tier), max_batch,
    max_len, max_tokens, max_heads (None: the tier's), high_page_ids, special_values (False: no NaN
    codes, non-finite weights or scales, fp16/fp32 k sources or planted amax values, as
    --no-special-values).
    Case i equals case i of `mqa-harness fuzz --seed S --list-cases` with the same options."""
    g = gen_options(**constraints)
    for i in range(start, start + n):
        yield Case(core.random_case(seed, i, g), index=i)
