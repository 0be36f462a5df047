#!/usr/bin/env python3
"""Loopback gateway for the soak test: one port, a behaviour that rotates every ROTATE seconds.

Behaviours: ok, slow (2 s), 500, reset mid-body, never answer, garbage, endless headers,
huge Content-Length. Only binds 127.0.0.1. Standard library only.
"""
import asyncio
import os
import sys
import time

PORT = int(sys.argv[1])
ROTATE = float(os.environ.get("SOAK_ROTATE_SECONDS", "60"))
MODES = ["ok", "slow", "error", "reset", "silent", "garbage", "endless_headers", "huge_length"]
START = time.monotonic()


def mode():
    return MODES[int((time.monotonic() - START) // ROTATE) % len(MODES)]


async def handle(reader, writer):
    try:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        m = mode()
        if m == "ok":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDeprecation: @300000000000\r\n\r\n{}")
        elif m == "slow":
            await asyncio.sleep(2)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        elif m == "error":
            writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops")
        elif m == "reset":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
            await writer.drain()
            sock = writer.get_extra_info("socket")
            import socket, struct
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif m == "silent":
            await asyncio.sleep(30)
        elif m == "garbage":
            writer.write(b"\x00\xff garbage \r\n\r\n")
        elif m == "endless_headers":
            writer.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(2000):
                writer.write(b"X-Pad: " + b"a" * 100 + b"\r\n")
                await writer.drain()
        elif m == "huge_length":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\nsome")
            await asyncio.sleep(30)
        await writer.drain()
    except Exception:
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", PORT, backlog=4096)
    async with server:
        await server.serve_forever()


asyncio.run(main())
