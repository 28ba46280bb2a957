#!/usr/bin/python3
"""Login storm: COUNT clients of one application connect at the same instant
(asyncpg, one event loop), every admitted one keeps its session until all
attempts are over (plus --hold seconds), then all close. Prints one JSON object:
{"admitted": n, "rejected": n, "errors": n, "sqlstates": {...}, "messages": [...]}.
"""
import argparse
import asyncio
import collections
import json
import resource

import asyncpg


async def attempt(args, start):
    await start.wait()
    try:
        conn = await asyncpg.connect(
            host=args.host, port=args.port, user=args.user, password=args.password,
            database=args.dbname, timeout=args.timeout,
            server_settings={"application_name": args.app})
        return ("admitted", conn, None)
    except asyncpg.PostgresError as e:
        return ("rejected", e.sqlstate, str(e))
    except Exception as e:  # network level: reported, never counted as a rejection
        return ("error", type(e).__name__, str(e))


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password")
    p.add_argument("--dbname", default="postgres")
    p.add_argument("--app", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--hold", type=float, default=0.0)
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args()
    # One socket per client: storms of a thousand need more than the usual 1024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.count + 64)), hard))

    start = asyncio.Event()
    tasks = [asyncio.create_task(attempt(args, start)) for _ in range(args.count)]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks)
    await asyncio.sleep(args.hold)

    summary = {"admitted": 0, "rejected": 0, "errors": 0, "sqlstates": collections.Counter(),
               "messages": []}
    for kind, what, message in results:
        if kind == "admitted":
            summary["admitted"] += 1
            await what.close()
        else:
            summary["rejected" if kind == "rejected" else "errors"] += 1
            summary["sqlstates"][what] += 1
            if message not in summary["messages"]:
                summary["messages"].append(message)
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
