// FollowDriver: a HikariCP pool under a workload, kept at its budget's share
// by BudgetFollower; the TAP tests (038, 039) drive it through standard input
// and read one JSON line per command on standard output.
//
//   java -cp <follower jar:HikariCP:pgjdbc:slf4j:test classes> FollowDriver KEY=VALUE ...
//     url=JDBC_URL user=POOL_ROLE app=APPLICATION follower_user=ROLE
//     workers=N query_ms=N think_ms=N max=N min_idle=N
//     default=N floor=N ceiling=N instances=N poll_ms=N
//   java ... FollowDriver rule SHARE|none INSUFFICIENT POOL_SIZE MAX_OVERFLOW FLOOR CEILING DEFAULT
//
// Commands: state | hold N | check | release | stop. Every worker borrows a
// connection, runs a short query, returns it, and counts what fails: SQLSTATE
// 53300 anywhere in the exception's causes, or anything else.
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import io.pgpool_stats.follow.BudgetFollower;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

public class FollowDriver {
    static final AtomicLong queries = new AtomicLong();
    static final AtomicLong refused = new AtomicLong();
    static final AtomicLong otherErrors = new AtomicLong();
    static final AtomicReference<String> lastError = new AtomicReference<>();
    static volatile boolean working = true;

    static String json(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static boolean is53300(Throwable t) {
        for (; t != null; t = t.getCause()) {
            if (t instanceof SQLException && "53300".equals(((SQLException) t).getSQLState())) return true;
        }
        return false;
    }

    static void work(HikariDataSource ds, int queryMs, int thinkMs) {
        String sql = "SELECT pg_sleep(" + (queryMs / 1000.0) + ")";
        while (working) {
            try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
                st.execute(sql);
                queries.incrementAndGet();
            } catch (SQLException e) {
                if (!working) break;
                if (is53300(e)) refused.incrementAndGet();
                else otherErrors.incrementAndGet();
                lastError.set(e.getSQLState() + " " + e.getMessage()
                    + (e.getCause() != null ? " / cause: " + e.getCause() : ""));
            }
            try {
                Thread.sleep(thinkMs);
            } catch (InterruptedException e) {
                break;
            }
        }
    }

    static int pid(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("rule")) {
            Integer share = args[1].equals("none") ? null : Integer.valueOf(args[1]);
            System.out.println(BudgetFollower.target(share, Boolean.parseBoolean(args[2]),
                Integer.parseInt(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]),
                Integer.parseInt(args[6]), Integer.parseInt(args[7])));
            return;
        }
        Map<String, String> o = new HashMap<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            o.put(a.substring(0, eq), a.substring(eq + 1));
        }
        // Configured before it starts: the pool opens at the first
        // getConnection(), after the follower has set its first size.
        HikariDataSource ds = new HikariDataSource();
        ds.setJdbcUrl(o.get("url"));
        ds.setUsername(o.get("user"));
        ds.addDataSourceProperty("ApplicationName", o.get("app"));
        ds.addDataSourceProperty("assumeMinServerVersion", "9.0");
        ds.setMaximumPoolSize(Integer.parseInt(o.get("max")));
        ds.setMinimumIdle(Integer.parseInt(o.get("min_idle")));
        ds.setPoolName("followed");

        BudgetFollower.Settings s = new BudgetFollower.Settings(o.get("app"))
            .user(o.get("follower_user"))
            .defaultSize(Integer.parseInt(o.get("default")))
            .floor(Integer.parseInt(o.get("floor")))
            .ceiling(Integer.parseInt(o.get("ceiling")))
            .pollInterval(Long.parseLong(o.get("poll_ms")), TimeUnit.MILLISECONDS)
            .reconnectDelay(200, TimeUnit.MILLISECONDS);
        if (o.containsKey("instances")) s.instances(Integer.valueOf(o.get("instances")));
        BudgetFollower follower = BudgetFollower.start(ds, s);

        int workers = Integer.parseInt(o.get("workers"));
        int queryMs = Integer.parseInt(o.get("query_ms"));
        int thinkMs = Integer.parseInt(o.get("think_ms"));
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
            Thread t = new Thread(() -> work(ds, queryMs, thinkMs), "worker " + i);
            t.start();
            threads.add(t);
        }

        List<Connection> held = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            String[] cmd = line.trim().split("\\s+");
            String out;
            switch (cmd[0]) {
                case "state": {
                    // Before the first getConnection() the pool has not started: -1.
                    HikariPoolMXBean p = ds.getHikariPoolMXBean();
                    out = "{\"max\": " + ds.getHikariConfigMXBean().getMaximumPoolSize()
                        + ", \"min_idle\": " + ds.getHikariConfigMXBean().getMinimumIdle()
                        + ", \"total\": " + (p == null ? -1 : p.getTotalConnections())
                        + ", \"active\": " + (p == null ? -1 : p.getActiveConnections())
                        + ", \"idle\": " + (p == null ? -1 : p.getIdleConnections())
                        + ", \"waiting\": " + (p == null ? -1 : p.getThreadsAwaitingConnection())
                        + ", \"target\": " + follower.target()
                        + ", \"share\": " + follower.instanceShare()
                        + ", \"connected\": " + follower.isConnected()
                        + ", \"listening\": " + follower.isListening()
                        + ", \"queries\": " + queries.get()
                        + ", \"refused\": " + refused.get()
                        + ", \"other_errors\": " + otherErrors.get()
                        + ", \"last_error\": " + json(lastError.get()) + "}";
                    break;
                }
                case "hold": {
                    // Borrowed like any worker would, in open transactions.
                    StringBuilder pids = new StringBuilder();
                    for (int i = 0; i < Integer.parseInt(cmd[1]); i++) {
                        Connection c = ds.getConnection();
                        c.setAutoCommit(false);
                        held.add(c);
                        pids.append(pids.length() > 0 ? ", " : "").append(pid(c));
                    }
                    out = "{\"held\": [" + pids + "]}";
                    break;
                }
                case "check": {
                    StringBuilder pids = new StringBuilder();
                    String error = null;
                    for (Connection c : held) {
                        try {
                            pids.append(pids.length() > 0 ? ", " : "").append(pid(c));
                        } catch (SQLException e) {
                            error = e.getSQLState() + " " + e.getMessage();
                        }
                    }
                    out = "{\"alive\": [" + pids + "], \"error\": " + json(error) + "}";
                    break;
                }
                case "release": {
                    for (Connection c : held) {
                        c.commit();
                        c.close();
                    }
                    out = "{\"released\": " + held.size() + "}";
                    held.clear();
                    break;
                }
                case "stop": {
                    working = false;
                    for (Thread t : threads) t.join();
                    follower.close();
                    ds.close();
                    out = "{\"stopped\": true, \"queries\": " + queries.get() + "}";
                    break;
                }
                default:
                    out = "{\"unknown\": " + json(line) + "}";
            }
            System.out.println(out);
            System.out.flush();
            if (cmd[0].equals("stop")) break;
        }
        System.exit(0);
    }
}
