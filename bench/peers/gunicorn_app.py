"""The gunicorn peer: a WSGI app answering "fluffy tail". Run with -c gunicorn_conf.py."""

BODY = b"fluffy tail"


def app(environ, start_response):
    start_response(
        "200 OK",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(BODY)))],
    )
    return [BODY]
