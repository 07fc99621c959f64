import socket
import time
from collections.abc import Callable


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1", avoid: set[int] = frozenset()) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            return port


def pick_port(preferred: int, taken: set[int], host: str = "127.0.0.1") -> int:
    """The preferred port when it is free (0: no preference), else any free one; records it in taken."""
    port = None
    if preferred and preferred not in taken and port_is_free(preferred, host):
        port = preferred
    if port is None:
        port = free_port(host, avoid=taken)
    taken.add(port)
    return port


def wait_until(check: Callable[[], bool], *, timeout: float, interval: float = 0.1, what: str) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # readiness probes fail in many ways while a server starts
            last_error = exc
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s{detail}")
