#!/usr/bin/env python3
"""A TCP proxy that can stop passing bytes without closing anything: what a cut network looks
like to the two ends (no reset, no FIN; the bytes just stop coming).

    freeze_proxy.py TARGET_PORT        prints its own port on the first line, then serves

SIGUSR1 freezes every connection (nothing is read or written any more, new connections are
accepted and left waiting); SIGUSR2 thaws them. Used by the tests of a worker asked to stop
while its read waits on a cut link to PostgreSQL.
"""
import select
import signal
import socket
import sys
import threading
import time

frozen = threading.Event()
# a parent may have blocked signals (a test runner's threads do), and a child inherits the mask:
# SIGUSR1/2 and the SIGTERM that ends the proxy must reach it
signal.pthread_sigmask(signal.SIG_SETMASK, set())
signal.signal(signal.SIGUSR1, lambda *_: frozen.set())
signal.signal(signal.SIGUSR2, lambda *_: frozen.clear())


def pump(a, b):
    try:
        while True:
            while frozen.is_set():
                time.sleep(0.05)
            r, _, _ = select.select([a], [], [], 0.05)
            if not r:
                continue
            if frozen.is_set():
                continue
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    target = int(sys.argv[1])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        while frozen.is_set():
            time.sleep(0.05)
        server = socket.create_connection(("127.0.0.1", target))
        threading.Thread(target=pump, args=(client, server), daemon=True).start()
        threading.Thread(target=pump, args=(server, client), daemon=True).start()


if __name__ == "__main__":
    main()
