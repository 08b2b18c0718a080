# Test handlers for the end-to-end tests, run by the real AWS Python runtime client (awslambdaric).
#
# The test Lambda environment answers /next with a non-JSON content type, so awslambdaric hands
# the handler the raw event bytes; returning bytes makes awslambdaric post them unchanged. That is
# what lets a test compare what the caller sent and got back byte for byte.
import json
import os

# Synthetic AWS key pair (not a real credential, not AWS's documented EXAMPLE pair): "AKIA" + 16
# chars of [A-Z2-7] and a 40-char secret, the shape the secrets-leak policy must catch.
LEAKED_ACCESS_KEY_ID = "AKIA" + "QZ7T4KX2MBW5R3NL"
LEAKED_SECRET_ACCESS_KEY = "q8Vd2Lr7Zm4Xc1Bn6Ht9Wp3Ks5Fg0Jy2Ae7Ru4Oi"

# Just under the 6 MiB synchronous response limit (6 * 1024 * 1024 = 6291456 bytes).
BIG_RESULT_BYTES = 6_000_000


def _raw(event):
    """The event as bytes, whatever the content type made of it."""
    if isinstance(event, (bytes, bytearray)):
        return bytes(event)
    return json.dumps(event).encode()


def echo(event, context):
    """Returns the event unchanged (bytes in, the same bytes out)."""
    if isinstance(event, (bytes, bytearray)):
        return bytes(event)
    return event


def marker(event, context):
    """Appends the request id to the file named by GAVEL_TEST_MARKER, proving the handler ran; echoes."""
    path = os.environ["GAVEL_TEST_MARKER"]
    with open(path, "a") as f:
        f.write(context.aws_request_id + "\n")
    return echo(event, context)


class HandlerAskedToFail(Exception):
    pass


def fail(event, context):
    """Raises: the runtime client reports an Unhandled function error."""
    raise HandlerAskedToFail("handler asked to fail: " + _raw(event)[:64].decode("utf-8", "replace"))


def leak_keys(event, context):
    """Returns a fixed JSON document that leaks a complete access-key pair."""
    return {
        "status": "ok",
        "debug": {
            "aws_access_key_id": LEAKED_ACCESS_KEY_ID,
            "aws_secret_access_key": LEAKED_SECRET_ACCESS_KEY,
        },
    }


def big(event, context):
    """Returns a ~6 MB JSON result (BIG_RESULT_BYTES exactly)."""
    head, tail = b'{"data":"', b'"}'
    return head + b"x" * (BIG_RESULT_BYTES - len(head) - len(tail)) + tail


def env_probe(event, context):
    """Returns the Runtime API address the runtime client sees and what the wrapper kept."""
    return {
        "AWS_LAMBDA_RUNTIME_API": os.environ.get("AWS_LAMBDA_RUNTIME_API"),
        "GAVEL_UPSTREAM_RUNTIME_API": os.environ.get("GAVEL_UPSTREAM_RUNTIME_API"),
        "pid": os.getpid(),
        "ppid": os.getppid(),
    }


def demo(event, context):
    """The `make demo` function: a tiny API that answers 200 with JSON; its /debug route leaks
    credentials, the mistake gavel's secrets-leak policy exists to catch."""
    try:
        ev = json.loads(_raw(event))
    except ValueError:
        ev = {}
    path = ev.get("rawPath") or ev.get("path") or ""
    if path == "/debug":
        body = {"aws_access_key_id": LEAKED_ACCESS_KEY_ID, "aws_secret_access_key": LEAKED_SECRET_ACCESS_KEY}
    else:
        body = {"ok": True, "path": path}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
