"""Opens N keep-alive TLS connections to 127.0.0.1:PORT, sends one GET on each and reads the
answer, then holds them all open and idle until stdin closes. Prints "held N" once all are up.

Usage: hold.py PORT N
"""

import asyncio
import resource
import ssl
import sys

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
BODY = b"fluffy tail"


async def one(port, ctx, limit):
    async with limit:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost"), 20
        )
        writer.write(REQUEST)
        seen = b""
        while not seen.endswith(BODY):
            chunk = await asyncio.wait_for(reader.read(4096), 20)
            if not chunk:
                raise ConnectionError("the server closed the connection before answering")
            seen += chunk
        return writer


async def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 256)), hard))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the servers are ours; verification is not what we measure
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["http/1.1"])
    limit = asyncio.Semaphore(50)
    writers = await asyncio.gather(*(one(port, ctx, limit) for _ in range(n)))
    print(f"held {len(writers)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for w in writers:
        w.close()


if __name__ == "__main__":
    asyncio.run(main())
