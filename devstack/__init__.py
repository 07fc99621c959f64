"""Local stacks for the demo and the tests: real nats-server, Redis, Celery and Daphne processes.

Nothing here is used by the dashboard itself.
"""
