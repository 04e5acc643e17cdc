#!/usr/bin/env python3
"""Run moto as a local AWS IAM/STS emulator with SigV4 authentication ENFORCED.

Used by the cloudkeys end-to-end tests and the CI script.
Needs Python >= 3.11 plus `pip install "moto[server]"` (tested with moto 5.2.1).

    python3 tests/moto/start_moto.py --port 0            # foreground
    python3 tests/moto/start_moto.py --port 0 --detach   # CI: print and exit

What it does:
  1. starts `python3 -m moto.server -H 127.0.0.1 -p PORT` as a child
     (--port 0 = pick a free port) and waits (max --timeout s) until it answers;
  2. seeds it via boto3 (us-east-1, dummy creds): users alice, bob, carol, admin;
     managed policy "cloudkeys-e2e-admin" (iam:* + sts:* on *) attached to admin;
     keys: admin 1, alice 2, bob 1 (then set Inactive), carol none;
  3. turns moto's request authentication on (POST "0" to /moto-api/reset-auth):
     from then on every request must carry a SigV4 signature that moto can
     recompute with botocore from a key it knows, and IAM policies are
     evaluated (only admin has any permissions); then self-checks that
     (good key -> OK, wrong secret -> SignatureDoesNotMatch,
     unknown key id -> InvalidClientTokenId) unless --no-self-check;
  4. prints ONE JSON line on stdout:
       {"endpoint": "http://127.0.0.1:PORT", "pid": <moto pid>,
        "admin": {"access_key_id": "...", "secret_access_key": "..."},
        "keys": {"alice": ["AKIA...", "AKIA..."], "bob": ["AKIA..."]},
        "account_id": "123456789012"}
     (with --member-account, also "member": {"account_id", "role_arn", "keys"};
      with --organization, "organization": {"account_id", "keys"} of its member)
     then waits until stdin reaches EOF or SIGTERM/SIGINT and kills moto.
     With --detach it exits right after printing and leaves moto running
     (kill it later with `kill <pid>`); moto's output then goes to --log
     (default: a temp file whose path is printed on stderr).
     With --ignore-stdin it waits for a signal only (use when stdin is /dev/null).

Exit status 1 (message on stderr) if moto does not come up / seeding or the
auth self-check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HOST = "127.0.0.1"
REGION = "us-east-1"
DUMMY_KEY_ID = "testing"
DUMMY_SECRET = "testing"
ADMIN_POLICY_NAME = "cloudkeys-e2e-admin"
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["iam:*", "sts:*"], "Resource": "*"}
    ],
}


def log(msg: str) -> None:
    print(f"start_moto: {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def moto_answers(endpoint: str) -> bool:
    """True once the server on `endpoint` is a moto server that answers."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/config", timeout=2) as r:
            return 200 <= r.status < 300 and "batch" in json.loads(r.read())
    except (OSError, ValueError):
        return False


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def start_server(
    port: int, deadline: float, out, detach: bool
) -> tuple[subprocess.Popen, str]:
    """Start moto; with port 0 retry on a few fresh ports (bind races)."""
    attempts = 3 if port == 0 else 1
    last_rc = None
    for _ in range(attempts):
        p = port or free_port()
        endpoint = f"http://{HOST}:{p}"
        env = dict(os.environ)
        env["MOTO_PORT"] = str(p)
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)  # auth is enabled later
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(p)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            # own session: a detached moto survives our exit / terminal SIGINT
            start_new_session=detach,
        )
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if moto_answers(endpoint):
                # make sure it's our child that answers, not some other process
                if proc.poll() is None:
                    return proc, endpoint
                break
            time.sleep(0.2)
        last_rc = proc.poll()
        stop(proc)
        if time.monotonic() >= deadline:
            break
    raise RuntimeError(
        "moto did not start"
        + (f" (it exited with status {last_rc})" if last_rc is not None else "")
    )


def client(service: str, endpoint: str, key_id: str, secret: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def seed(endpoint: str, extra_users: int = 0) -> dict:
    iam = client("iam", endpoint, DUMMY_KEY_ID, DUMMY_SECRET)
    for user in ("alice", "bob", "carol", "admin"):
        iam.create_user(UserName=user)
    pol = iam.create_policy(
        PolicyName=ADMIN_POLICY_NAME, PolicyDocument=json.dumps(ADMIN_POLICY)
    )
    iam.attach_user_policy(UserName="admin", PolicyArn=pol["Policy"]["Arn"])

    def new_key(user: str) -> dict:
        return iam.create_access_key(UserName=user)["AccessKey"]

    admin = new_key("admin")
    alice = [new_key("alice")["AccessKeyId"] for _ in range(2)]
    bob = [new_key("bob")["AccessKeyId"]]
    iam.update_access_key(UserName="bob", AccessKeyId=bob[0], Status="Inactive")
    # A larger account for call-count tests: extra users with one key each, two keys for
    # the first two.
    for n in range(extra_users):
        name = f"user{n:03d}"
        iam.create_user(UserName=name)
        for _ in range(2 if n < 2 else 1):
            new_key(name)
    return {
        "admin": {
            "access_key_id": admin["AccessKeyId"],
            "secret_access_key": admin["SecretAccessKey"],
        },
        "keys": {"alice": alice, "bob": bob},
    }


MEMBER_ROLE = "KeyAuditor"


def seed_member(endpoint: str, member: str, management: str) -> dict:
    """A second account, reached through its role only: moto routes a request to the account
    named by the `x-moto-account-id` header (usable before auth is on), and later requests
    signed with the role's session keys to the account that issued them."""
    iam = client("iam", endpoint, DUMMY_KEY_ID, DUMMY_SECRET)

    def to_member(request, **_):
        request.headers["x-moto-account-id"] = member

    iam.meta.events.register("before-sign.iam.*", to_member)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{management}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName=MEMBER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=MEMBER_ROLE,
        PolicyName="read-keys",
        PolicyDocument=json.dumps(ADMIN_POLICY),
    )
    keys = {}
    for user in ("dave", "erin"):
        iam.create_user(UserName=user)
    keys["dave"] = [iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]]
    return {"account_id": member, "role_arn": role["Role"]["Arn"], "keys": keys}


ORG_ROLE = "OrganizationAccountAccessRole"


def seed_organization(endpoint: str) -> dict:
    """The first account manages an organization with one created member. moto makes the
    member's OrganizationAccountAccessRole (trusting the management account) with no policy:
    give it one, in the member account, while auth is still off."""
    org = client("organizations", endpoint, DUMMY_KEY_ID, DUMMY_SECRET)
    org.create_organization(FeatureSet="ALL")
    status = org.create_account(AccountName="member", Email="member@example.com")
    member = status["CreateAccountStatus"]["AccountId"]
    iam = client("iam", endpoint, DUMMY_KEY_ID, DUMMY_SECRET)
    iam.put_user_policy(
        UserName="admin",
        PolicyName="list-accounts",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "organizations:ListAccounts", "Resource": "*"}
                ],
            }
        ),
    )

    def to_member(request, **_):
        request.headers["x-moto-account-id"] = member

    iam.meta.events.register("before-sign.iam.*", to_member)
    iam.put_role_policy(
        RoleName=ORG_ROLE, PolicyName="read-keys", PolicyDocument=json.dumps(ADMIN_POLICY)
    )
    iam.create_user(UserName="frank")
    # Two active keys: an audit finding (two-active) only the member role can see.
    frank = [iam.create_access_key(UserName="frank")["AccessKey"]["AccessKeyId"] for _ in range(2)]
    return {"account_id": member, "keys": {"frank": frank}}


def enable_auth(endpoint: str) -> None:
    # Authentication is enforced once moto has served INITIAL_NO_AUTH_ACTION_COUNT
    # actions; setting it to 0 (and resetting the counter) enforces it now.
    req = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        body = json.loads(r.read())
    if body.get("status") != "ok":
        raise RuntimeError(f"reset-auth failed: {body}")


def expect_error(fn, code: str) -> None:
    from botocore.exceptions import ClientError

    try:
        fn()
    except ClientError as e:
        got = e.response.get("Error", {}).get("Code")
        if got != code:
            raise RuntimeError(f"expected {code}, got {got}: {e}") from None
        return
    raise RuntimeError(f"expected {code}, but the call succeeded: auth not enforced")


def check_auth(endpoint: str, admin: dict, alice_keys: list[str], self_check: bool) -> str:
    """Returns the account id; verifies auth is enforced unless self_check is False."""
    kid, secret = admin["access_key_id"], admin["secret_access_key"]
    ident = client("sts", endpoint, kid, secret).get_caller_identity()
    if not self_check:
        return ident["Account"]
    if not ident["Arn"].endswith(":user/admin"):
        raise RuntimeError(f"unexpected caller identity: {ident}")
    got = client("iam", endpoint, kid, secret).list_access_keys(UserName="alice")
    ids = sorted(k["AccessKeyId"] for k in got["AccessKeyMetadata"])
    if ids != sorted(alice_keys):
        raise RuntimeError(f"unexpected alice keys: {ids}")
    bad = client("iam", endpoint, kid, secret + "x")
    expect_error(lambda: bad.list_access_keys(UserName="alice"), "SignatureDoesNotMatch")
    unknown = client("sts", endpoint, "AKIAUNKNOWNKEY000000", secret)
    expect_error(unknown.get_caller_identity, "InvalidClientTokenId")
    return ident["Account"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port (default)")
    ap.add_argument("--detach", action="store_true", help="print the JSON line and exit, leaving moto running")
    ap.add_argument("--log", help="file for moto's output (default: our stderr; a temp file with --detach)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for moto to start (default 30)")
    ap.add_argument("--ignore-stdin", action="store_true", help="do not stop on stdin EOF, only on SIGTERM/SIGINT")
    ap.add_argument("--extra-users", type=int, default=0, help="also seed this many users with keys (default 0)")
    ap.add_argument("--member-account", help="also seed this account id with role KeyAuditor trusting the first")
    ap.add_argument("--organization", action="store_true", help="also make the first account manage an organization with one member")
    ap.add_argument("--no-self-check", action="store_true", help="skip the post-enable auth self-check")
    args = ap.parse_args()

    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
    except ImportError as e:
        log(f"{e}; install with: pip install 'moto[server]'")
        return 1

    if args.log:
        out = open(args.log, "ab")
    elif args.detach:
        fd, path = tempfile.mkstemp(prefix="moto-", suffix=".log")
        out = os.fdopen(fd, "ab")
        log(f"moto log: {path}")
    else:
        out = sys.stderr

    deadline = time.monotonic() + args.timeout
    try:
        proc, endpoint = start_server(args.port, deadline, out, args.detach)
    except RuntimeError as e:
        log(f"error: {e} within {args.timeout:g} s (see its output above / in the log)")
        return 1

    stopping = threading.Event()

    def on_signal(signum, _frame):
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        seeded = seed(endpoint, args.extra_users)
        if args.member_account:
            # The first account is moto's default one.
            seeded["member"] = seed_member(endpoint, args.member_account, "123456789012")
        if args.organization:
            seeded["organization"] = seed_organization(endpoint)
        enable_auth(endpoint)
        account_id = check_auth(
            endpoint, seeded["admin"], seeded["keys"]["alice"], not args.no_self_check
        )
    except Exception as e:  # noqa: BLE001
        log(f"error: seeding/enabling auth failed: {type(e).__name__}: {e}")
        stop(proc)
        return 1

    info = {"endpoint": endpoint, "pid": proc.pid, **seeded, "account_id": account_id}
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()

    if args.detach:
        return 0

    # Wait for stdin EOF (polled, so no reader thread blocks interpreter exit),
    # SIGTERM/SIGINT, or moto dying.
    sel = None
    if not args.ignore_stdin:
        sel = selectors.DefaultSelector()
        try:
            sel.register(sys.stdin.fileno(), selectors.EVENT_READ)
        except (ValueError, OSError, PermissionError):
            sel = None  # stdin closed / not selectable (e.g. a regular file): treat as EOF
            stopping.set()

    rc = 0
    try:
        while not stopping.is_set():
            if sel is not None:
                if sel.select(timeout=0.5):
                    try:
                        if not os.read(sys.stdin.fileno(), 65536):
                            break  # EOF
                    except OSError:
                        break
            else:
                stopping.wait(0.5)
            if proc.poll() is not None:
                log(f"error: moto exited unexpectedly with status {proc.returncode}")
                rc = 1
                break
    finally:
        stop(proc)
    return rc


if __name__ == "__main__":
    sys.exit(main())
