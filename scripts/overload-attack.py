#!/usr/bin/env python3
"""Slow and greedy clients against a sandbox, for scripts/overload.sh (standard library only).

    overload-attack.py HOST:PORT SECONDS [IDLE=1000] [SLOW_HEADS=100] [SLOW_BODIES=100] [BIG_PER_S=20]

For SECONDS it keeps open:
  IDLE         connections that send nothing (reopened when the server closes them);
  SLOW_HEADS   connections sending a request head one byte a second (slowloris);
  SLOW_BODIES  connections sending a complete head and then its body one byte a second;
and sends BIG_PER_S requests a second with a 64 KiB + 1 byte body. At the end it prints
one JSON object: how each kind of connection ended (the status line the server answered,
or "closed" when it closed without an answer).
"""
import asyncio
import collections
import json
import sys
import time

PATH = "/v3/payscore/partner/serviceorder/direct-complete"
HEAD = (
    f"POST {PATH} HTTP/1.1\r\nHost: sandbox\r\nAccept: application/json\r\n"
    "User-Agent: overload-attack\r\nContent-Type: application/json\r\n"
)
counts = collections.defaultdict(collections.Counter)


def outcome(data: bytes) -> str:
    if not data:
        return "closed"
    return data.split(b"\r\n", 1)[0].decode("latin-1").replace("HTTP/1.1 ", "")


async def one(kind, deadline, host, port, send):
    """One connection of `kind`, reopened until the deadline; records how each ended."""
    while time.monotonic() < deadline:
        try:
            r, w = await asyncio.open_connection(host, port)
        except OSError as e:
            counts[kind][f"connect failed: {e.strerror}"] += 1
            await asyncio.sleep(0.5)
            continue
        counts[kind]["opened"] += 1
        reader = asyncio.ensure_future(r.read(4096))
        try:
            await asyncio.wait_for(send(w, reader), max(0.0, deadline - time.monotonic()))
            data = await asyncio.wait_for(reader, max(0.0, deadline - time.monotonic()))
            counts[kind][outcome(data)] += 1
        except asyncio.TimeoutError:
            counts[kind]["open at the end"] += 1
        except (ConnectionError, OSError):
            counts[kind]["reset"] += 1
        finally:
            reader.cancel()
            w.close()


async def idle(w, reader):
    await asyncio.shield(reader)


async def slow_head(w, reader):
    for b in (HEAD + "X-Slow: " + "a" * 10_000).encode():
        if reader.done():
            return
        w.write(bytes([b]))
        await w.drain()
        await asyncio.sleep(1)


async def slow_body(w, reader):
    w.write((HEAD + "Content-Length: 1000\r\n\r\n").encode())
    await w.drain()
    for _ in range(1000):
        if reader.done():
            return
        w.write(b" ")
        await w.drain()
        await asyncio.sleep(1)


async def big(w, reader):
    body = b" " * (64 * 1024 + 1)
    w.write((HEAD + f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    await w.drain()


async def main():
    addr, secs = sys.argv[1], float(sys.argv[2])
    given = [int(x) for x in sys.argv[3:7]]
    n_idle, n_heads, n_bodies, big_rate = given + [1000, 100, 100, 20][len(given):]
    host, port = addr.rsplit(":", 1)
    deadline = time.monotonic() + secs
    tasks = [one("idle", deadline, host, port, idle) for _ in range(n_idle)]
    tasks += [one("slow head", deadline, host, port, slow_head) for _ in range(n_heads)]
    tasks += [one("slow body", deadline, host, port, slow_body) for _ in range(n_bodies)]

    async def bigs():
        running = set()
        while time.monotonic() < deadline:
            t = asyncio.ensure_future(one_big(deadline, host, port))
            running.add(t)
            t.add_done_callback(running.discard)
            await asyncio.sleep(1 / big_rate if big_rate else secs)
        await asyncio.gather(*running)

    await asyncio.gather(*tasks, bigs())
    print(json.dumps({k: dict(v) for k, v in counts.items()}, ensure_ascii=False))


async def one_big(deadline, host, port):
    try:
        r, w = await asyncio.open_connection(host, port)
    except OSError as e:
        counts["64 KiB + 1 body"][f"connect failed: {e.strerror}"] += 1
        return
    try:
        await big(w, None)
        data = await asyncio.wait_for(r.read(4096), max(0.1, deadline - time.monotonic()))
        counts["64 KiB + 1 body"][outcome(data)] += 1
    except (asyncio.TimeoutError, ConnectionError, OSError):
        counts["64 KiB + 1 body"]["reset or no answer"] += 1
    finally:
        w.close()


if __name__ == "__main__":
    asyncio.run(main())
