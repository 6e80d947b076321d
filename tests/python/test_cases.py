"""cases()/case(): the C++ generator's draws, identical to `mqa-harness fuzz --list-cases`, and
descriptors that parse, print and reject bad input like the C++ (ValueError naming the field)."""
import subprocess

import pytest

import mqa_harness as mh


def cli_cases(binary, seed, n, *options):
    out = subprocess.run([binary, "fuzz", "--kernel", "builtin-ref", "--list-cases", "--cases", str(n), "--seed",
                          str(seed), *options], check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line and not line.startswith("#")]


@pytest.mark.parametrize("seed,kwargs,options", [
    (1, {}, []),
    (7, dict(ops="paged_logits", heads=[32, 64], page_sizes=[64], next_n=[1, 2]),
     ["--ops", "paged_logits", "--heads", "32,64", "--page-sizes", "64", "--next-n", "1,2"]),
    (3, dict(ops=["ragged_logits", "paged_logits"], profiles="deepgemm_sm90", encodings="e4m3fnuz", layouts="standard",
             max_batch=3, max_len=300, head_dims=[64, 128]),
     ["--ops", "ragged_logits,paged_logits", "--profile", "deepgemm_sm90", "--encodings", "e4m3fnuz", "--layouts",
      "standard", "--batch", "3", "--max-len", "300", "--head-dims", "64,128"]),
    (5, dict(lens_2d=True, high_page_ids=False, max_tokens=500), ["--lens-2d", "on", "--no-high-ids", "--max-tokens", "500"]),
    (2, dict(tier="deployed"), ["--tier", "deployed"]),
    (3, dict(tier="deployed", max_batch=5, ops="gather"), ["--tier", "deployed", "--batch", "5", "--ops", "gather"]),
    (6, dict(special_values=False), ["--no-special-values"]),
])
def test_cases_equal_the_cli_listing(harness_bin, seed, kwargs, options):
    want = cli_cases(harness_bin, seed, 60, *options)
    got = [c.descriptor for c in mh.cases(seed=seed, n=60, **kwargs)]
    assert len(want) == 60
    assert got == want


SPECIAL_KEYS = ("ksrc=", "amax=", "nan_codes", "odd_weights", "odd_scales")


def test_special_values_are_drawn_by_default_and_only_then():
    with_specials = [c.descriptor for c in mh.cases(seed=6, n=200)]
    without = [c.descriptor for c in mh.cases(seed=6, n=200, special_values=False)]
    assert any(k in d for d in with_specials for k in SPECIAL_KEYS)
    assert not any(k in d for d in without for k in SPECIAL_KEYS)


def test_cases_are_deterministic_and_indexed():
    a = list(mh.cases(seed=11, n=8))
    b = list(mh.cases(seed=11, n=4, start=4))
    assert a[4:] == b and [c.index for c in b] == [4, 5, 6, 7]
    assert len(set(c.descriptor for c in a)) == 8


def test_case_parses_and_prints_the_canonical_line():
    c = next(mh.cases(seed=2, n=1, ops="paged_logits"))
    shuffled = " ".join(reversed(c.descriptor.split(" ")))
    assert mh.case(shuffled).descriptor == c.descriptor
    assert mh.case("op=paged_logits lens=1d:[5]").descriptor.startswith("op=paged_logits layout=standard B=64")


def test_replay_line_is_the_cli_command(harness_bin):
    c = next(mh.cases(seed=4, n=1, ops="paged_logits", high_page_ids=False))
    line = c.replay_command("builtin-ref")
    assert line == "mqa-harness fuzz --replay '%s' --kernel builtin-ref" % c.descriptor
    assert c.replay == "mqa-harness fuzz --replay '%s' --kernel <your kernel>" % c.descriptor
    # and the CLI takes it: the reference kernel passes its own case
    r = subprocess.run([harness_bin, "fuzz", "--replay", c.descriptor, "--kernel", "builtin-ref", "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("line,field", [
    ("op=paged_logits B=foo", "invalid B = 'foo'"),
    ("op=paged_logits colour=red", "colour"),
    ("op=nope", "op"),
])
def test_bad_descriptor_is_a_value_error_naming_the_field(line, field):
    with pytest.raises(ValueError, match=field):
        mh.case(line)


@pytest.mark.parametrize("kwargs,message", [
    (dict(ops="paged,ragged"), "invalid ops = 'paged'"),
    (dict(page_sizes="64,x"), "invalid page_sizes"),
    (dict(lens_2d="maybe"), "invalid lens_2d = 'maybe'"),
    (dict(heads=[3]), "heads"),
    (dict(colour="red"), "unknown constraint colour"),
    (dict(tier="huge"), "invalid --tier = 'huge'"),
    (dict(ops="quant_cache", profiles="deepgemm_sm90"), "ops"),
])
def test_bad_constraints_are_value_errors_naming_the_option(kwargs, message):
    with pytest.raises(ValueError, match=message):
        list(mh.cases(n=1, **kwargs))


def test_short_id_names_the_case():
    c = next(mh.cases(seed=1, n=1, ops="paged_logits"))
    f = c.fields
    assert c.short.startswith("0-paged-%s-B%s-D%s-H%s" % (f["layout"], f["B"], f["D"], f["H"]))
