"""Benchmarks of natsdash's polling path, run by `make bench` (python -m bench).

one_poll  one poll of a real 3-node nats-server cluster holding 500 streams and 1,000 consumers
fleet     one Celery worker polling 300 simulated nodes (100 clusters) served from recorded JSON
storage   bytes of samples written per day and kept at steady state for that fleet in SQLite

Each benchmark starts its own servers on free 127.0.0.1 ports under a temporary directory and
stops them when it ends; BENCH_KEEP=1 keeps the directory (logs, database) to look into.
"""
