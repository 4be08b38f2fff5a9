"""gunicorn settings for the benchmark: TLS 1.3 only, and no session tickets when
BENCH_NO_RESUMPTION=1 (TLS 1.3 resumes only through tickets)."""

import os
import ssl


def ssl_context(conf, default_ssl_context_factory):
    ctx = default_ssl_context_factory()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if os.environ.get("BENCH_NO_RESUMPTION") == "1":
        ctx.num_tickets = 0
    return ctx
