"""Peers for bench-http: a slow OpenAI-compatible server, and a minimal client.

    python3 bench_http_peer.py serve --delay 2          # prints "PORT <n>", then serves until killed
    python3 bench_http_peer.py client --base-url URL --model M --requests 16 --concurrency 4

The server answers POST /v1/chat/completions (and any other POST) after `--delay` seconds with a
fixed two-rationale completion, in one send (headers and body together, so Nagle adds nothing).
The client is the least a client can be: one thread per request slot, http.client, the same JSON
body bench-http sends; it prints {"wall": s, "cpu": s, "requests": n} as JSON. Standard library only.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = {
    "id": "bench", "object": "chat.completion", "model": "bench",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "- enjoys quiet character dramas\n- likes classic westerns"}}],
}


def serve(delay):
    body = json.dumps(ANSWER).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(delay)
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            self.wfile.write(head + body)
            self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


def client(base_url, model, requests, concurrency, max_tokens):
    url = urllib.parse.urlparse(base_url.rstrip("/") + "/chat/completions")
    payload = json.dumps({"model": model, "max_tokens": max_tokens, "temperature": 0,
                          "messages": [{"role": "user", "content": "List two things a fan of Casablanca (1942) and Rear Window (1954) values."}]}).encode()
    next_index = [0]
    lock = threading.Lock()
    failures = [0]

    def worker():
        conn = HTTPConnection(url.hostname, url.port, timeout=600)
        while True:
            with lock:
                if next_index[0] >= requests:
                    break
                next_index[0] += 1
            conn.request("POST", url.path, body=payload, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                failures[0] += 1
        conn.close()

    cpu0, t0 = time.process_time(), time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"wall": time.monotonic() - t0, "cpu": time.process_time() - cpu0, "requests": requests,
                      "failures": failures[0]}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="role", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--delay", type=float, default=2.0)
    c = sub.add_parser("client")
    c.add_argument("--base-url", required=True)
    c.add_argument("--model", default="bench")
    c.add_argument("--requests", type=int, default=16)
    c.add_argument("--concurrency", type=int, default=4)
    c.add_argument("--max-tokens", type=int, default=64)
    a = ap.parse_args()
    if a.role == "serve":
        serve(a.delay)
    else:
        client(a.base_url, a.model, a.requests, a.concurrency, a.max_tokens)


if __name__ == "__main__":
    main()
