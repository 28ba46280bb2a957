#!/usr/bin/python3
"""arrival_order.py HOST PORT APP COUNT SPACING HOLD [QUITTER]: COUNT clients of
application APP arrive one after another, SPACING seconds apart (asyncpg);
each admitted one holds its session HOLD seconds and closes. Client QUITTER,
if given, gives up after waiting 0.3 s (its connect timeout). Prints one JSON
object: {"order": [client numbers in the order they were admitted],
"refused": [...], "gave_up": [...]}.
"""
import asyncio
import json
import sys

import asyncpg


async def client(i, args, admitted, refused, gave_up):
    host, port, app, _, spacing, hold, quitter = args
    await asyncio.sleep(i * spacing)
    try:
        conn = await asyncpg.connect(host=host, port=port, user="app", database="postgres",
                                     timeout=0.3 if i == quitter else 60,
                                     server_settings={"application_name": app})
    except asyncio.TimeoutError:
        gave_up.append(i)
        return
    except asyncpg.PostgresError:
        refused.append(i)
        return
    admitted.append(i)
    await asyncio.sleep(hold)
    await conn.close()


async def main():
    host, port, app, count, spacing, hold = sys.argv[1:7]
    quitter = int(sys.argv[7]) if len(sys.argv) > 7 else -1
    args = (host, int(port), app, int(count), float(spacing), float(hold), quitter)
    admitted, refused, gave_up = [], [], []
    await asyncio.gather(*(client(i, args, admitted, refused, gave_up)
                           for i in range(int(count))))
    print(json.dumps({"order": admitted, "refused": refused, "gave_up": gave_up}))


asyncio.run(main())
