#!/usr/bin/python3
"""listen.py HOST PORT DBNAME CHANNEL...: LISTENs on the CHANNELs (psycopg2,
autocommit), prints "ready" once listening, and then one JSON line per
notification as it arrives: {"channel": ..., "payload": ..., "pid": ...}.
Ends after a notification on channel "end" (printed too), or when its
standard input is closed.
"""
import json
import os
import select
import sys

import psycopg2


def main():
    host, port, dbname, channels = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    conn = psycopg2.connect(host=host, port=port, dbname=dbname, user=os.environ.get("PGUSER", "postgres"))
    conn.autocommit = True
    with conn.cursor() as cur:
        for channel in channels + ["end"]:
            cur.execute('LISTEN "%s"' % channel.replace('"', '""'))
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select([conn, sys.stdin], [], [], 60)
        if sys.stdin in readable and not sys.stdin.readline():
            return
        conn.poll()
        while conn.notifies:
            n = conn.notifies.pop(0)
            print(json.dumps({"channel": n.channel, "payload": n.payload, "pid": n.pid}), flush=True)
            if n.channel == "end":
                return


if __name__ == "__main__":
    main()
