"""`make bench`: every benchmark, on SQLite and PostgreSQL. Results in bench/results/.

Set SMSHUB_BENCH_ENGINES=sqlite to skip PostgreSQL (it must listen on 127.0.0.1:5432,
or set SMSHUB_BENCH_POSTGRES_URL)."""

from __future__ import annotations

import os
import sys

from bench import campaigns, forwarding, inbound, outbound, smpp

ENGINES = os.environ.get("SMSHUB_BENCH_ENGINES", "sqlite,postgres")


def main() -> None:
    n = os.environ.get("SMSHUB_BENCH_MESSAGES", "20000")
    sys.argv = ["outbound", "--engines", ENGINES, "-n", n]
    outbound.main()
    sys.argv = ["inbound", "--engines", ENGINES, "--rate", "200", "--seconds", "20"]
    inbound.main()
    sys.argv = ["smpp", "--engines", ENGINES, "-n", n]
    smpp.main()
    sys.argv = ["campaigns", "--engines", ENGINES]
    campaigns.main()
    sys.argv = ["forwarding", "--engines", ENGINES, "-n", "500"]
    forwarding.main()


if __name__ == "__main__":
    main()
