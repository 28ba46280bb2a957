// JdbcSessions: opens sessions with the PostgreSQL JDBC driver, plain or through
// a HikariCP pool, holds them until standard input is closed, and prints one
// JSON line with the result of each attempt:
//   [{"ok": true, "pid": n} | {"ok": false, "sqlstate": "...", "error": "...",
//     "cause_sqlstate": "...", "cause": "..."}, ...]
// (cause_*: the SQLException HikariCP's timeout carries as its cause).
//
//   java -cp <postgresql.jar:HikariCP.jar:slf4j-api.jar:slf4j-simple.jar> JdbcSessions.java \
//       plain URL USER COUNT
//   java ... JdbcSessions.java hikari URL USER COUNT PROPERTIES_FILE [KEY=VALUE ...]
//
// plain: COUNT connections with DriverManager, one after another, the URL's
// settings as they are. hikari: a HikariDataSource configured from the
// properties file (pool_config()'s hikaricp text, as written) and the
// KEY=VALUE overrides, then COUNT connections borrowed at once.
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.FileReader;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

public class JdbcSessions {
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

    static String result(Object outcome) {
        if (outcome instanceof Connection) {
            try (Statement st = ((Connection) outcome).createStatement();
                 ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                return "{\"ok\": true, \"pid\": " + rs.getInt(1) + "}";
            } catch (SQLException e) {
                return result(e);
            }
        }
        SQLException e = (SQLException) outcome;
        String r = "{\"ok\": false, \"sqlstate\": " + json(e.getSQLState()) + ", \"error\": "
            + json(e.getMessage());
        if (e.getCause() instanceof SQLException) {
            SQLException c = (SQLException) e.getCause();
            r += ", \"cause_sqlstate\": " + json(c.getSQLState()) + ", \"cause\": "
                + json(c.getMessage());
        }
        return r + "}";
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0], url = args[1], user = args[2];
        int count = Integer.parseInt(args[3]);
        List<Object> outcomes = new ArrayList<>();
        HikariDataSource pool = null;
        if (mode.equals("plain")) {
            for (int i = 0; i < count; i++) {
                try {
                    outcomes.add(DriverManager.getConnection(url, user, ""));
                } catch (SQLException e) {
                    outcomes.add(e);
                }
            }
        } else {
            Properties props = new Properties();
            try (FileReader in = new FileReader(args[4])) {
                props.load(in);
            }
            for (int i = 5; i < args.length; i++) {
                String[] kv = args[i].split("=", 2);
                props.setProperty(kv[0], kv[1]);
            }
            HikariConfig config = new HikariConfig(props);
            config.setJdbcUrl(url);
            config.setUsername(user);
            pool = new HikariDataSource(config);
            ExecutorService threads = Executors.newFixedThreadPool(count);
            List<Future<Object>> borrowed = new ArrayList<>();
            final HikariDataSource source = pool;
            for (int i = 0; i < count; i++) {
                borrowed.add(threads.submit(() -> {
                    try {
                        return (Object) source.getConnection();
                    } catch (SQLException e) {
                        return (Object) e;
                    }
                }));
            }
            for (Future<Object> f : borrowed) outcomes.add(f.get());
            threads.shutdown();
        }
        StringBuilder line = new StringBuilder("[");
        for (Object o : outcomes) {
            if (line.length() > 1) line.append(", ");
            line.append(result(o));
        }
        System.out.println(line.append("]"));
        System.out.flush();
        while (System.in.read() >= 0) {
        }
        for (Object o : outcomes)
            if (o instanceof Connection) ((Connection) o).close();
        if (pool != null) pool.close();
    }
}
