#!/usr/bin/python3
"""hold_sessions.py HOST PORT SPECS: opens the sessions of the JSON array SPECS
one after another and holds them until its standard input is closed. Each
element has "dbname", "user" and the libpq parameters to send as they are
("application_name", "options"); PGAPPNAME is ignored, so that nothing else
names the session. Prints one JSON line once every attempt is over:
[{"ok": true, "pid": n} | {"ok": false, "error": "..."}, ...].
"""
import json
import os
import sys

import psycopg2


def main():
    os.environ.pop("PGAPPNAME", None)  # the TAP framework sets it; libpq would send it
    host, port, specs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    held, results = [], []
    for spec in specs:
        try:
            conn = psycopg2.connect(host=host, port=port, **spec)
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                results.append({"ok": True, "pid": cur.fetchone()[0]})
            held.append(conn)
        except psycopg2.Error as e:
            results.append({"ok": False, "error": str(e).strip()})
    print(json.dumps(results), flush=True)
    sys.stdin.read()
    for conn in held:
        conn.close()


if __name__ == "__main__":
    main()
