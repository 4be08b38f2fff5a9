"""gunicorn settings for the benchmark: TLS 1.3 only, one SSLContext for the whole worker, and
no session tickets when BENCH_NO_RESUMPTION=1 (TLS 1.3 resumes only through tickets).

gunicorn 27 calls this hook for every connection it accepts, and its default builds a new
SSLContext each time (reading the certificate and key again): every context has its own ticket
key, so no session could ever resume. Keeping the first one gives gunicorn resumption and spares
it the reload: its best case, which is the fair one to compare with.
"""

import os
import ssl

_context = None


def ssl_context(conf, default_ssl_context_factory):
    global _context
    if _context is None:
        _context = default_ssl_context_factory()
        _context.minimum_version = ssl.TLSVersion.TLSv1_3
        if os.environ.get("BENCH_NO_RESUMPTION") == "1":
            _context.num_tickets = 0
    return _context
