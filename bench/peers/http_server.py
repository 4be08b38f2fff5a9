"""The Python standard library peer: http.server (threaded, as `python3 -m http.server` is)
wrapped in ssl, answering "fluffy tail" to every GET over HTTP/1.1 keep-alive.

Usage: http_server.py PORT CERT KEY [--no-resumption]
"""

import http.server
import ssl
import sys

BODY = b"fluffy tail"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the other servers

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(BODY)))
        if self.close_connection:  # the client asked; say so, as nginx and hyper do (h2load needs it)
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass  # http.server logs every request to stderr by default; nginx logs to a file


def main():
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    if "--no-resumption" in sys.argv[4:]:
        ctx.num_tickets = 0  # TLS 1.3 resumes only through tickets
    # socketserver listens with a backlog of 5: 50 clients connecting at once would see their
    # SYNs dropped and retried a second later. nginx uses 511.
    http.server.ThreadingHTTPServer.request_queue_size = 511
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    # The handshake then happens in each connection's thread, on its first read, rather than
    # one at a time in the accepting thread.
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    server.serve_forever()


if __name__ == "__main__":
    main()
