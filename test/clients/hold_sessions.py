#!/usr/bin/python3
"""hold_sessions.py HOST PORT SPECS: opens the sessions of the JSON array SPECS
one after another and holds them until its standard input is closed. Each
element has "dbname", "user" and the libpq parameters to send as they are
("application_name", "options", "fallback_application_name"), and optionally
"after": statements the session runs once logged in (autocommit), such as
pgjdbc's SET application_name ("?" first: it may fail, the session goes on). PGAPPNAME is ignored unless "pgappname" gives
it, so that nothing else names the session. Prints one JSON line once every
attempt is over:
[{"ok": true, "pid": n} | {"ok": false, "error": "...", "sqlstate": "..." or null}, ...].
psycopg 3: psycopg2 reports a FATAL that arrives in answer to a statement as
"server closed the connection unexpectedly", without the server's message.
"""
import json
import os
import sys

import psycopg


def main():
    os.environ.pop("PGAPPNAME", None)  # the TAP framework sets it; libpq would send it
    host, port, specs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    held, results = [], []
    for spec in specs:
        after = spec.pop("after", [])
        pgappname = spec.pop("pgappname", None)
        if pgappname is not None:
            os.environ["PGAPPNAME"] = pgappname
        try:
            conn = psycopg.connect(host=host, port=port, autocommit=True, **spec)
            with conn.cursor() as cur:
                for statement in after:
                    if statement.startswith("?"):  # may fail; the session goes on
                        try:
                            cur.execute(statement[1:])
                        except psycopg.Error:
                            pass
                    else:
                        cur.execute(statement)
                cur.execute("SELECT pg_backend_pid()")
                results.append({"ok": True, "pid": cur.fetchone()[0]})
            held.append(conn)
        except psycopg.Error as e:
            # libpq gives no SQLSTATE for a FATAL that ends the session (at
            # login, or at a late naming); the message is the server's.
            results.append({"ok": False, "error": str(e).strip(), "sqlstate": e.sqlstate})
        finally:
            os.environ.pop("PGAPPNAME", None)
    print(json.dumps(results), flush=True)
    sys.stdin.read()
    for conn in held:
        conn.close()


if __name__ == "__main__":
    main()
