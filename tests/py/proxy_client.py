"""A Python MySQL client's session through the proxy, for the e2e tests: PyMySQL or Connector/Python (pure Python).

Usage: proxy_client.py --driver {pymysql,connector} --host H --port P --user U [--database D]

Logs in as U with no password and no TLS (the proxy takes care of both), then runs what an application would:
CURRENT_USER(), the Ssl_version status (the proxy's TLS to the database, when there is one), a parameterised query
(server-side prepared with Connector/Python, client-side with PyMySQL), 1000 rows from MariaDB's sequence engine,
a transaction on a temporary table, CONNECTION_ID(). The sequence and the temporary table need a default database:
pass --database (one where U may SELECT and CREATE TEMPORARY TABLES).

Prints one JSON object on stdout — {"user", "ssl_version", "param", "rows", "sum", "temp_count", "connection_id",
"driver", "driver_version"} — and exits 0; on any failure, prints the error on stderr and exits 1.
"""
import argparse
import importlib.metadata
import json
import sys


def connect_pymysql(args):
    """PyMySQL: (connection, text cursor, cursor for the parameterised query, version)."""
    import pymysql

    conn = pymysql.connect(
        host=args.host,
        port=args.port,
        user=args.user,
        database=args.database,
        ssl_disabled=True,
        connect_timeout=10,
        read_timeout=30,
        write_timeout=30,
    )
    # pymysql.__version__ is the MySQLdb version it imitates (1.4.6), not its own.
    return conn, conn.cursor(), conn.cursor(), importlib.metadata.version("PyMySQL")


def connect_connector(args):
    """Connector/Python in pure-Python mode: (connection, text cursor, prepared cursor, version)."""
    import mysql.connector
    import mysql.connector.connection

    conn = mysql.connector.connect(
        host=args.host,
        port=args.port,
        user=args.user,
        database=args.database,
        use_pure=True,
        ssl_disabled=True,
        connection_timeout=10,
    )
    if not isinstance(conn, mysql.connector.connection.MySQLConnection):
        raise RuntimeError(f"use_pure=True gave {type(conn).__name__}, not the pure-Python MySQLConnection")
    return conn, conn.cursor(), conn.cursor(prepared=True), mysql.connector.__version__


DRIVERS = {"pymysql": connect_pymysql, "connector": connect_connector}


def rows(cursor, sql, params=None):
    """Runs `sql` and returns every row (a cursor must be drained before the next statement)."""
    cursor.execute(sql, params)
    return cursor.fetchall()


def session(args):
    conn, cursor, prepared, version = DRIVERS[args.driver](args)
    try:
        [(user,)] = rows(cursor, "SELECT CURRENT_USER()")
        ssl = rows(cursor, "SHOW STATUS LIKE 'Ssl_version'")
        [(param,)] = rows(prepared, "SELECT %s + 1", (41,))
        seq = [value for (value,) in rows(cursor, "SELECT seq FROM seq_1_to_1000")]
        rows(cursor, "CREATE TEMPORARY TABLE proxy_client_tmp (id INT PRIMARY KEY) ENGINE=InnoDB")
        rows(cursor, "START TRANSACTION")
        cursor.executemany("INSERT INTO proxy_client_tmp (id) VALUES (%s)", [(1,), (2,), (3,)])
        [(temp_count,)] = rows(cursor, "SELECT COUNT(*) FROM proxy_client_tmp")
        conn.commit()
        [(connection_id,)] = rows(cursor, "SELECT CONNECTION_ID()")
    finally:
        conn.close()
    text = lambda value: value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
    return {
        "user": text(user),
        "ssl_version": text(ssl[0][1]) if ssl else "",
        "param": int(param),
        "rows": len(seq),
        "sum": sum(int(value) for value in seq),
        "temp_count": int(temp_count),
        "connection_id": int(connection_id),
        "driver": args.driver,
        "driver_version": version,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--driver", choices=sorted(DRIVERS), required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--database")
    args = parser.parse_args()
    try:
        result = session(args)
    except Exception as e:  # noqa: BLE001 - the error text is the result
        print(f"proxy_client.py --driver {args.driver}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result))


main()
