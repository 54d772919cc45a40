"""The runs a wrk-driven benchmark recorded (one JSON line each, from run_wrk in
bench/http/lib.sh), read for its report: medians over rounds, and the bad answers."""

import json
import statistics


class Runs:
    def __init__(self, path):
        self.rows = [json.loads(line) for line in open(path) if line.strip()]

    def med(self, test, key):
        """The median of `key` over the runs of `test` that did not fail (0 if none)."""
        values = [r.get(key, 0) for r in self.rows if r["test"] == test and not r.get("failed")]
        return statistics.median(values) if values else 0

    def bad(self):
        """Answers that were not 200 or not what was asked for, over every run."""
        return sum(r.get("bad", 0) + r.get("non2xx", 0) for r in self.rows)
