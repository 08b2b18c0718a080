#!/usr/bin/env python3
# Minimal external extension (stdlib only) that proves the harness's Extensions and Telemetry API
# side without gavel: registers for INVOKE and SHUTDOWN, subscribes to telemetry, appends every
# event and telemetry batch to $FAKE_EXT_LOG as JSON lines, exits 0 on SHUTDOWN.
import http.server
import json
import os
import sys
import threading
import urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]
log_path = os.environ["FAKE_EXT_LOG"]
lock = threading.Lock()


def log(kind, data):
    with lock, open(log_path, "a") as f:
        f.write(json.dumps({"kind": kind, "data": data}) + "\n")


def call(method, path, body=None, headers=None):
    req = urllib.request.Request(api + path, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req) as r:
        return r.headers, r.read()


class Telemetry(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        batch = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        log("telemetry", batch)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Telemetry)
threading.Thread(target=server.serve_forever, daemon=True).start()

headers, _ = call(
    "POST",
    "/2020-01-01/extension/register",
    json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
    {"Lambda-Extension-Name": "fake_extension.py", "Content-Type": "application/json"},
)
ext_id = headers["Lambda-Extension-Identifier"]
port = server.server_address[1]
sub = {
    "schemaVersion": "2025-01-29",
    "destination": {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{port}/t"},
    "types": ["platform", "function"],
    "buffering": {"timeoutMs": 25, "maxBytes": 262144, "maxItems": 1000},
}
call("PUT", "/2022-07-01/telemetry", json.dumps(sub).encode(), {"Lambda-Extension-Identifier": ext_id})
print("fake extension registered", flush=True)

while True:
    _, body = call("GET", "/2020-01-01/extension/event/next", headers={"Lambda-Extension-Identifier": ext_id})
    event = json.loads(body)
    log("event", event)
    if event["eventType"] == "SHUTDOWN":
        print("fake extension shutting down", flush=True)
        sys.exit(0)
