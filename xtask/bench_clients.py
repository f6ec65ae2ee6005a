"""Many MySQL clients at once, for `cargo xtask bench`'s proxy benchmarks (PyMySQL from xtask/requirements.txt).

  bench_clients.py idle  --port P --user U --count N
      Opens N sessions one after another (each runs SELECT 1), prints "open N" and waits until standard input
      closes; then closes them and prints "closed".
  bench_clients.py storm --port P --user U --count N --within S
      Starts N clients spread evenly over S seconds; each logs in, runs SELECT 1 and leaves. Prints one JSON object:
      {"ok", "failed", "errors" (the first few), "seconds"}.

Clients log in with no password and no TLS (the proxy's side); connect_timeout is long because clients beyond the
proxy's login rate wait for their turn rather than fail.
"""
import argparse
import json
import resource
import sys
import threading
import time

import pymysql


def connect(args):
    return pymysql.connect(host="127.0.0.1", port=args.port, user=args.user, connect_timeout=120)


def idle(args):
    sessions = []
    for _ in range(args.count):
        conn = connect(args)
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        sessions.append(conn)
    print(f"open {len(sessions)}", flush=True)
    sys.stdin.read()
    for conn in sessions:
        conn.close()
    print("closed", flush=True)


def storm(args):
    results = []
    lock = threading.Lock()
    started = time.monotonic()

    def one(delay):
        time.sleep(delay)
        try:
            conn = connect(args)
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            conn.close()
            outcome = None
        except Exception as e:  # noqa: BLE001 - every failure counts
            outcome = repr(e)
        with lock:
            results.append(outcome)

    threads = [
        threading.Thread(target=one, args=(i * args.within / args.count,), daemon=True) for i in range(args.count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [r for r in results if r is not None]
    print(json.dumps({
        "ok": len(results) - len(errors),
        "failed": len(errors),
        "errors": errors[:3],
        "seconds": round(time.monotonic() - started, 2),
    }))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["idle", "storm"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--within", type=float, default=2.0)
    args = parser.parse_args()
    # One descriptor per session.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    threading.stack_size(256 * 1024)
    idle(args) if args.mode == "idle" else storm(args)


if __name__ == "__main__":
    main()
