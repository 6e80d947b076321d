#!/usr/bin/env python3
"""Turns `golden verify --json` reports of peer runs into the tables docs/numerics.md records.

    summarize.py profile  VERIFY.json [...]          element match count of a bitwise profile check
    summarize.py verdicts LABEL VERIFY.json [...]    cases passing / failing, worst observed/bound
    summarize.py bugs     VERIFY.json [...]          per planted bug: cases run, caught, first case caught
Case order is the golden file's (the harness's draw order), so "first caught" is the number of
cases a campaign needs to detect the bug.
"""
import json
import sys


def outputs(path):
    with open(path) as f:
        j = json.load(f)
    if j.get("verdict") == "error":
        raise SystemExit("%s: verify error: %s" % (path, j.get("error")))
    return [o for o in j["outputs"] if o["dataset"] == "logits"]


def ratio(o):
    w = o["report"].get("worst", {}).get("ratio")
    return w["ratio"] if w else None


def profile(paths):
    for p in paths:
        total = mism = cases = ok = 0
        for o in outputs(p):
            r = o["report"]
            checked = r["by_column"]["valid"]["checked"]
            bad = r["by_column"]["valid"]["mismatched"]
            total, mism, cases, ok = total + checked, mism + bad, cases + 1, ok + (bad == 0)
        print("%s: %d of %d valid logits bit-identical (%.2f%%), %d of %d cases" %
              (p, total - mism, total, 100.0 * (total - mism) / max(total, 1), ok, cases))


def verdicts(label, paths):
    for p in paths:
        os_ = outputs(p)
        fails = [o for o in os_ if not o["pass"]]
        worst = max([ratio(o) or 0 for o in os_] or [0])
        print("%-34s %4d cases  %4d pass  %4d fail  worst observed/bound %.4g  (%s)" %
              (label, len(os_), len(os_) - len(fails), len(fails), worst, p))
        for o in fails[:3]:
            r = o["report"]
            print("    %s: %d of %d elements over, worst observed/bound %.4g" %
                  (o["case"], r["mismatched"], r["compared"], ratio(o) or float("nan")))


def bugs(paths):
    print("%-44s %5s %7s %14s" % ("run", "cases", "caught", "first caught"))
    for p in paths:
        os_ = outputs(p)
        caught = [i for i, o in enumerate(os_) if not o["pass"]]
        print("%-44s %5d %7d %14s" % (p, len(os_), len(caught), str(caught[0] + 1) if caught else "never"))


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    what = sys.argv[1]
    if what == "profile":
        profile(sys.argv[2:])
    elif what == "verdicts":
        verdicts(sys.argv[2], sys.argv[3:])
    elif what == "bugs":
        bugs(sys.argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
