"""A webhook receiver for tests: a threaded HTTP server on 127.0.0.1 that records every
request and answers with the status codes it is told to, in turn."""

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def message(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int
    received: list[Received] = field(default_factory=list)
    # Answers to give, first to last; then `respond`'s, or 200.
    answers: list[int] = field(default_factory=list)
    respond: Callable[[Received], int] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, request: Received) -> int:
        with self.lock:
            if self.answers:
                return self.answers.pop(0)
        return self.respond(request) if self.respond else 200

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator["Receiver"]:
        receiver_box: list[Receiver] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                me = receiver_box[0]
                request = Received(self.path, dict(self.headers.items()), body)
                with me.lock:
                    me.received.append(request)
                status = me.answer(request)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        receiver_box.append(cls(port=server.server_address[1]))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield receiver_box[0]
        finally:
            server.shutdown()
            server.server_close()
