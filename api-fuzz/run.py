"""Runs schemathesis against the real callvault binary: a fresh data folder, an admin, a few
numbers, contacts and a recorded call (so the operations on ids reach real rows), then every
check schemathesis has, on every operation. Exits with schemathesis's status: any finding fails.

Environment: CALLVAULT_BIN (the built binary), CALLVAULT_TEST_MODEL (a Whisper model folder, so
the server transcribes without fetching one). Extra arguments go to `schemathesis run`."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
SEED_ADMIN = "seed-admin@example.com"
SEED_PASSWORD = "seed admin password 1"


def cli(binary, data_dir, args, stdin=None):
    out = subprocess.run(
        [binary, "--data-dir", data_dir, *args], input=stdin, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"callvault {' '.join(args)} failed: {out.stderr}")
    return out.stdout.strip()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Api:
    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, path, body=None, content_type="application/json"):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            raise SystemExit(f"seeding: {method} {path}: {error.code} {error.read().decode()}") from error
        return json.loads(text) if text else None


def wait_ready(base, server):
    for _ in range(200):
        if server.poll() is not None:
            raise SystemExit(f"callvault serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/readyz") as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("callvault serve did not become ready")


def seed(api):
    """What a team has on its first day: two lines, a restricted member, contacts, calls (one
    recorded and transcribed, one missed), a note. Returns the recorded call's ids, which the
    configuration gives the operations no other operation's answer leads to."""
    # Calls from now on: recording is decided by the number's setting when a call starts.
    start = datetime.now(timezone.utc) + timedelta(seconds=1)
    at = lambda s: (start + timedelta(seconds=s)).isoformat()
    member = api.call("POST", "/api/v1/users", {
        "email": "sam@example.com", "name": "Sam Seller", "password": "sam's long password 7",
        "role": "user", "scope": "assigned",
    })
    sales = api.call("POST", "/api/v1/numbers", {
        "e164": "+14155550100", "label": "Sales line", "provider": "pbx", "call_recording": True,
        "consent_announcement": "This call may be recorded.",
    })
    api.call("POST", "/api/v1/numbers", {
        "e164": "+14155550199", "label": "Support line", "provider": "twilio", "call_recording": False,
    })
    ada = api.call("POST", "/api/v1/contacts", {
        "name": "Ada Lovelace", "phone": "+14155550101", "assigned_user_ids": [member["id"]],
    })
    api.call("POST", "/api/v1/contacts", {"name": "Grace Hopper", "phone": "+14155550102"})
    recorded = api.call("POST", "/api/v1/calls", {
        "number": sales["e164"], "contact_phone": ada["phone"], "direction": "inbound",
        "status": "answered", "started_at": at(0), "answered_at": at(2), "ended_at": at(30),
        "handled_by_email": SEED_ADMIN,
    })
    stored = api.call("PUT", f"/api/v1/calls/{recorded['id']}/recording",
                      (FIXTURES / "call-turns-2ch.mp3").read_bytes(), "audio/mpeg")
    api.call("POST", "/api/v1/calls", {
        "number": sales["e164"], "contact_phone": "+14155550103", "direction": "inbound",
        "status": "no-answer", "started_at": at(60), "ended_at": at(80),
    })
    api.call("POST", f"/api/v1/conversations/{recorded['conversation_id']}/notes",
             {"body": "Wants a callback about the invoice."})
    return {"CALLVAULT_FUZZ_CALL": recorded["id"], "CALLVAULT_FUZZ_RECORDING": stored["recording_id"]}


def main():
    binary = os.environ["CALLVAULT_BIN"]
    model = os.environ["CALLVAULT_TEST_MODEL"]
    data_dir = tempfile.mkdtemp(prefix="callvault-api-fuzz-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = None
    try:
        cli(binary, data_dir, ["user", "add", "--email", SEED_ADMIN, "--name", "Seed Admin", "--admin"],
            stdin=f"{SEED_PASSWORD}\n")
        token = cli(binary, data_dir, ["token", "create", "--email", SEED_ADMIN, "--name", "seed"])
        log = open(Path(data_dir) / "server.log", "w")
        server = subprocess.Popen(
            [binary, "--data-dir", data_dir, "serve", "--listen", f"127.0.0.1:{port}",
             "--public-url", base, "--asr-model", model],
            stdout=log, stderr=log,
        )
        wait_ready(base, server)
        log.flush()
        print(next((l for l in open(log.name) if "is serving" in l), "").strip())
        seeded = seed(Api(base, token))
        env = dict(os.environ, **seeded, CALLVAULT_FUZZ_DATA_DIR=data_dir, PYTHONPATH=str(HERE),
                   PYTHONDONTWRITEBYTECODE="1")
        schemathesis = Path(sys.executable).parent / "schemathesis"
        status = subprocess.run(
            [str(schemathesis), "--config-file", str(HERE / "schemathesis.toml"), "run",
             f"{base}/api/v1/openapi.json", *sys.argv[1:]],
            env=env, check=False,
        ).returncode
        if server.poll() is not None:
            print(f"callvault serve died during the run (status {server.returncode})")
            status = status or 1
        return status
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait()
        if os.environ.get("CALLVAULT_FUZZ_KEEP"):
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
