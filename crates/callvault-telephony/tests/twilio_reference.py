"""Computes and checks Twilio request signatures with the official `twilio` library, for the
cases the Rust test sends as JSON on standard input; prints the answers as JSON."""
import json
import sys

from twilio.request_validator import RequestValidator


class MultiDict(dict):
    """A dict that keeps every value of a repeated name, as web frameworks hand them over."""

    def __init__(self, pairs):
        super().__init__()
        self.pairs = pairs
        for name, value in pairs:
            self.setdefault(name, value)

    def getall(self, name):
        return [v for k, v in self.pairs if k == name]


answers = []
for case in json.load(sys.stdin):
    validator = RequestValidator(case["token"])
    algorithm = case["algorithm"]
    params = MultiDict([tuple(p) for p in case["params"]])
    signature = validator.compute_signature(case["url"], params, algorithm)
    checks = {
        name: validator.validate(check["url"], MultiDict([tuple(p) for p in check["params"]]), check["signature"], algorithm)
        for name, check in case["checks"].items()
    }
    answers.append({"signature": signature, "checks": checks})
json.dump(answers, sys.stdout)
