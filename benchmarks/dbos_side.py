"""The same workloads on DBOS Transact with its SQLite system database, one per process.

Run by runtime_table.py with a Python that has the ``bench`` extra (``pip install -e '.[bench]'``):

    dbos_side.py throughput DB ISOLATES STEPS   -> {"steps_per_s": ...}
    dbos_side.py build DB N                     -> runs park(N) until its crash point, exits
    dbos_side.py resume DB N                    -> {"resume_s": ..., "bytes": ...} (recovery re-runs park)
"""
import json
import os
import sqlite3
import sys
import time

from dbos import DBOS


@DBOS.step()
def tick(i: int) -> int:
    return i


@DBOS.step()
def crash_point() -> None:
    if os.environ.get("DSBENCH_CRASH"):
        os._exit(0)          # the process dies with park's N steps recorded


@DBOS.workflow()
def steps(n: int) -> int:
    for i in range(n):
        tick(i)
    return n


@DBOS.workflow()
def park(n: int) -> int:
    for i in range(n):
        tick(i)
    crash_point()
    return n


def main() -> None:
    mode, db = sys.argv[1], sys.argv[2]
    DBOS(config={"name": "dsbench", "system_database_url": f"sqlite:///{db}", "log_level": "WARNING",
                 "application_version": "bench"})
    if mode == "throughput":
        k, m = int(sys.argv[3]), int(sys.argv[4])
        DBOS.launch()
        t = time.perf_counter()
        handles = [DBOS.start_workflow(steps, m) for _ in range(k)]
        for h in handles:
            h.get_result()
        dt = time.perf_counter() - t
        print(json.dumps({"steps_per_s": k * m / dt}))
    elif mode == "build":
        os.environ["DSBENCH_CRASH"] = "1"
        DBOS.launch()
        from dbos import SetWorkflowID
        with SetWorkflowID(f"park-{sys.argv[3]}"):
            park(int(sys.argv[3]))
    elif mode == "resume":
        n = int(sys.argv[3])
        t = time.perf_counter()
        DBOS.launch()                     # recovery starts park again from its first step
        DBOS.retrieve_workflow(f"park-{n}").get_result()
        dt = time.perf_counter() - t
        con = sqlite3.connect(db)
        size = con.execute("PRAGMA page_count").fetchone()[0] * con.execute("PRAGMA page_size").fetchone()[0]
        print(json.dumps({"resume_s": dt, "bytes": size}))
    DBOS.destroy()
    os._exit(0)


if __name__ == "__main__":
    main()
