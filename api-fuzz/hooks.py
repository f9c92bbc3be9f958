"""The fuzzer's credentials. Schemathesis exercises every operation, and some of them end the
very credential it sends: it revokes its own token, demotes or disables its own account, or sets
its password. So each credential is a new admin with a new token, made on the command line as an
operator would, and replaced whenever the server stops accepting it."""

import itertools
import os
import subprocess

import schemathesis

_serial = itertools.count(1)


def _cli(args, stdin=None):
    out = subprocess.run(
        [os.environ["CALLVAULT_BIN"], "--data-dir", os.environ["CALLVAULT_FUZZ_DATA_DIR"], *args],
        input=stdin, capture_output=True, text=True, check=True,
    )
    return out.stdout.strip()


@schemathesis.auth(refresh_interval=3600, retry_on=[401, 403])
class FreshAdmin:
    def get(self, case, context):
        email = f"fuzz-admin-{next(_serial)}@example.com"
        _cli(["user", "add", "--email", email, "--name", "Fuzz Admin", "--admin"],
             stdin="a long fuzzing password 9\n")
        return _cli(["token", "create", "--email", email, "--name", "schemathesis"])

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
