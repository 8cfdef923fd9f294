"""bench/cloudsim/responder.py PORT_FILE EVENT_FILE — a stand-in app for the benchmark.

Listens on an ephemeral loopback port (written to PORT_FILE), answers every POST with
200 {}, and writes the body of the first install event (the one carrying api_key) to
EVENT_FILE, so run.sh can call the gateway with a key minted by the real install flow.
"""
import http.server
import json
import os
import sys

PORT_FILE, EVENT_FILE = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        if isinstance(event, dict) and "api_key" in event and not os.path.exists(EVENT_FILE):
            tmp = EVENT_FILE + ".tmp"
            with open(tmp, "wb") as f:
                f.write(body)
            os.rename(tmp, EVENT_FILE)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
