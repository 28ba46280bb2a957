"""PgBouncer: per-application pools in a real PgBouncer, each at its share.

PgBouncer cannot change a database's pool_size from its admin console (SET
covers [pgbouncer] settings only), so the follower writes the [databases]
entries of the applications it follows into an include file and sends RELOAD
on the admin console. Each application gets an entry named after it (clients
connect to PgBouncer with dbname=<application_name>):

    checkout = host=db1 port=5432 dbname=shop application_name=checkout pool_size=6 reserve_pool=0 max_db_connections=6

pool_size is the rule's maximum (the share), reserve_pool 0 and
max_db_connections the same cap, so no user of the entry and no burst takes
more. The instances are the PgBouncers: run one follower beside each. The
file is rewritten (atomically) and PgBouncer reloaded only when a size
changes; a failed write or RELOAD is tried again on every reading. At start
the follower keeps the entries the file already holds for the applications
it follows (and writes the service's own size for one it lacks) until their
readings say otherwise, so no followed entry ever disappears. pgbouncer.ini
includes the file as its last line:

    %include /etc/pgbouncer/pgpool_stats.ini

When a size shrinks, the follower also sends RECONNECT <entry> (PgBouncer 1.15
and later): PgBouncer closes each server connection of the entry when it is
released (never under a client) and opens new ones within the new pool_size,
so the pool is within its share once the transactions in flight have ended
(clients wait in PgBouncer meanwhile). RELOAD alone would close the surplus
only when PgBouncer's janitor finds it idle, which a busy pool never is.

    python3 -m pgpool_stats_follow.pgbouncer_follower \\
        --dsn "host=db1 dbname=postgres user=monitor" --server "host=db1 port=5432 dbname=shop" \\
        --admin "host=127.0.0.1 port=6432 dbname=pgbouncer user=pgbouncer" \\
        --include /etc/pgbouncer/pgpool_stats.ini --app checkout --app reports \\
        --min-size 0 --max-size 20 --floor 1
"""
import argparse
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time

import psycopg2

from .rule import Sizing, Target, target
from .watcher import Watcher

logger = logging.getLogger("pgpool_stats_follow")

# What PgBouncer 1.18 reads as a [databases] entry name: no quoting exists,
# '*' is its fallback entry and "pgbouncer" its admin console.
_ENTRY_NAME = re.compile(r"^[0-9A-Za-z_.-]+$")


def entry_name_problem(name):
    """Why PgBouncer cannot read NAME as a [databases] entry name, or None."""
    if not _ENTRY_NAME.match(name):
        return ("PgBouncer reads an entry name only of ASCII letters, digits, '_', '.' and '-', "
                "without quoting")
    if name == "pgbouncer":
        return "PgBouncer keeps the name \"pgbouncer\" for its admin console"
    return None


def _value(v):
    """A value of a PgBouncer connection string: bare, or single-quoted with
    quotes doubled (its only escape). PgBouncer 1.18 has no empty value."""
    v = str(v)
    if not v:
        raise ValueError("PgBouncer's connection strings have no empty value")
    if not re.search(r"[\s'\\\"]", v):
        return v
    return "'" + v.replace("'", "''") + "'"


class PgBouncerFollower:
    def __init__(self, dsn, server, admin, include, applications, sizing, *, interval=30.0,
                 connect_kwargs=None):
        for name in applications:
            problem = entry_name_problem(name)
            if problem:
                raise ValueError("cannot follow application %r through PgBouncer: %s" % (name, problem))
        self.server = dict(_pairs(server))
        if not self.server.get("dbname"):
            raise ValueError("--server needs dbname=")
        self.admin, self.include, self.sizing = admin, include, sizing
        # What PgBouncer runs (written and reloaded), and what the readings
        # want. Both start from the include file: the follower reads one
        # application at a time, and a first file holding only the first
        # one read would make PgBouncer remove every other entry (and close
        # its clients). A followed application the file lacks starts at the
        # service's own size.
        self.targets = self._running(applications)   # application -> Target PgBouncer runs
        self._wanted = {name: self.targets.get(name) or target(None, sizing) for name in applications}
        self.changes = []     # (time.monotonic(), application, Target) of every size applied
        self.reloads = 0
        self.failures = 0     # writes or reloads that failed (retried on the next reading)
        self._lock = threading.Lock()
        self.watcher = Watcher(dsn, applications, self._on_config, instances=sizing.instances,
                               interval=interval, connect_kwargs=connect_kwargs)

    def _running(self, applications):
        """The entries of APPLICATIONS in the include file, as Targets."""
        try:
            with open(self.include) as f:
                text = f.read()
        except FileNotFoundError:
            return {}
        found = {}
        for line in text.splitlines():
            m = re.match(r"^\s*([0-9A-Za-z_.-]+)\s*=.*\bpool_size=(\d+)", line)
            if m and m.group(1) in applications:
                size = int(m.group(2))
                found[m.group(1)] = Target(min(self.sizing.min_size, size), size,
                                           "in the include file at start")
        return found

    def start(self, wait=10.0):
        self.watcher.start(wait)
        return self

    def stop(self):
        self.watcher.stop()

    def entry(self, name, t):
        params = dict(self.server, application_name=name, pool_size=t.max_size, reserve_pool=0,
                      max_db_connections=t.max_size)
        return "%s = %s" % (name, " ".join("%s=%s" % (k, _value(v)) for k, v in params.items()))

    def _on_config(self, name, config):
        t = target(config, self.sizing)
        with self._lock:
            old = self._wanted.get(name)
            if old is None or old.max_size != t.max_size:
                logger.info("pgpool_stats_follow: %s: PgBouncer pool_size %d (%s)", name, t.max_size,
                            t.reason)
            self._wanted[name] = t
            # Also retries a write or RELOAD that failed before: every
            # reading (announced or on the timer) comes here.
            self._apply()

    def _apply(self):
        sizes = {n: t.max_size for n, t in self._wanted.items()}
        if sizes == {n: t.max_size for n, t in self.targets.items()}:
            return True
        # RECONNECT only what PgBouncer runs larger than wanted: a new entry
        # or a grown one has no surplus to close.
        shrunk = sorted(n for n, size in sizes.items()
                        if n in self.targets and size < self.targets[n].max_size)
        if not self._write() or not self.reload(reconnect=shrunk):
            self.failures += 1
            return False
        now = time.monotonic()
        for n, t in sorted(self._wanted.items()):
            if n not in self.targets or self.targets[n].max_size != t.max_size:
                self.changes.append((now, n, t))
        self.targets = dict(self._wanted)
        return True

    def _write(self):
        lines = ["; written by pgpool_stats_follow: each application's pool at its share of its budget",
                 "[databases]"]
        lines += [self.entry(name, t) for name, t in sorted(self._wanted.items())]
        folder = os.path.dirname(os.path.abspath(self.include))
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".pgpool_stats_follow.")
            with os.fdopen(fd, "w") as f:
                f.write("\n".join(lines) + "\n")
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.include)
            return True
        except OSError as e:
            logger.warning("pgpool_stats_follow: writing %s failed: %s", self.include, e)
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            return False

    def reload(self, reconnect=()):
        """RELOAD on the admin console, then RECONNECT each entry RECONNECT
        names; False when PgBouncer could not be told (tried again on the
        next reading)."""
        try:
            conn = psycopg2.connect(self.admin, connect_timeout=10)
            try:
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute("RELOAD")
                    for name in reconnect:
                        # Its admin console reads a name with "-" only quoted; a
                        # checked entry name holds no quote.
                        cur.execute('RECONNECT "%s"' % name)
            finally:
                conn.close()
            self.reloads += 1
            return True
        except psycopg2.Error as e:
            logger.warning("pgpool_stats_follow: RELOAD of PgBouncer failed: %s", str(e).strip())
            return False


def _pairs(conninfo):
    """key=value pairs of a libpq connection string (as libpq parses them)."""
    from psycopg2.extensions import parse_dsn
    return parse_dsn(conninfo).items()


def main(argv=None):
    p = argparse.ArgumentParser(description="Keeps PgBouncer's per-application pools at their share "
                                            "of each application's budget.")
    p.add_argument("--dsn", required=True, help="the budget database (pgpool_stats.database), for a "
                   "role that may call pgpool_stats.pool_config")
    p.add_argument("--server", required=True, help="what PgBouncer connects to, as a connection string "
                   "with dbname= (host=, port=, user= ...)")
    p.add_argument("--admin", required=True, help="PgBouncer's admin console (dbname=pgbouncer)")
    p.add_argument("--include", required=True, help="the include file to write")
    p.add_argument("--app", action="append", required=True, help="an application to follow (repeat)")
    p.add_argument("--min-size", type=int, default=0, help="default min size without budget")
    p.add_argument("--max-size", type=int, default=20, help="pool_size without budget (PgBouncer's "
                   "default_pool_size is 20)")
    p.add_argument("--floor", type=int, default=1)
    p.add_argument("--ceiling", type=int)
    p.add_argument("--instances", type=int, help="how many PgBouncers share each budget (default: "
                   "as the server counts them)")
    p.add_argument("--interval", type=float, default=30.0, help="the slow timer, in seconds")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    sizing = Sizing(args.min_size, args.max_size, floor=args.floor, ceiling=args.ceiling,
                    instances=args.instances)
    try:
        follower = PgBouncerFollower(args.dsn, args.server, args.admin, args.include, args.app, sizing,
                                     interval=args.interval)
    except ValueError as e:
        print("pgbouncer_follower: %s" % e, file=sys.stderr)
        return 2
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    follower.start()
    print("following", flush=True)
    done.wait()
    follower.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
