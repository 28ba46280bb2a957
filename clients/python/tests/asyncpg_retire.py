#!/usr/bin/python3
"""asyncpg_retire.py HOST PORT: a FollowingPool of 4 with all 4 connections open and
one of them checked out for long, shrunk to 2: another acquisition must not
wait for the long checkout (the retired pool's idle connections close at
once, only the lent one counts). Prints one JSON object."""
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pgpool_stats_follow.asyncpg_follower import FollowingPool  # noqa: E402


async def main(host, port):
    pool = await FollowingPool(None, host=host, port=int(port), user="app", database="postgres",
                               min_size=4, max_size=4,
                               server_settings={"application_name": "shop-retire"}).open()
    out = {"size_before": pool.get_size()}
    release = asyncio.Event()
    held = asyncio.Event()

    async def long_checkout():
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
            held.set()
            await release.wait()

    task = asyncio.create_task(long_checkout())
    await held.wait()
    await pool.resize(2, 2)
    start = time.monotonic()
    try:
        async with pool.acquire(timeout=5) as conn:
            await conn.fetchval("SELECT 1")
            out["acquired_after"] = round(time.monotonic() - start, 3)
            out["size_while_held"] = pool.get_size()
    except asyncio.TimeoutError:
        out["acquired_after"] = None
    out["long_checkout_done"] = task.done()
    release.set()
    await task
    await pool.close()
    print(json.dumps(out))


asyncio.run(main(sys.argv[1], sys.argv[2]))
