"""COM1 (or COM2) on a Unix socket or a local TCP port for the emulator runners
(--console-socket PATH, --gdb-socket PATH, run-bochs --gdb PORT).

The emulator's serial port is a socket connection to the runner (QEMU: a Unix socket
client; Bochs: mode=socket-client over TCP); a thread relays it to one client of PATH at
a time (the next waits until that one leaves), writes every byte from the emulator to the
serial log, and keeps what arrives while no client is connected (up to KEEP bytes, the
oldest dropped first) for the next client, so nothing the hypervisor writes between two
kestrelctl commands is lost.
"""
import os
import select
import socket
import threading

KEEP = 1 << 20
SEND_TIMEOUT = 10.0     # a client that reads nothing for this long is dropped


class ConsoleRelay(threading.Thread):
    def __init__(self, path, log_path, emulator_listener):
        """path: a Unix socket's path, or an int: a TCP port on 127.0.0.1."""
        super().__init__(daemon=True, name="console-relay")
        self.path, self.emulator_listener = path, emulator_listener
        if isinstance(path, int):
            self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind(("127.0.0.1", path))
        else:
            if os.path.exists(path):
                os.unlink(path)
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(path)
        self.listener.listen(4)
        self.log = open(log_path, "wb")
        self.emulator = self.client = None
        self.kept = b""
        self.stopping = False

    def stop(self):
        self.stopping = True
        self.join(2)
        for s in (self.client, self.emulator, self.listener, self.emulator_listener):
            if s is not None:
                s.close()
        self.log.close()
        if isinstance(self.path, int):
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _from_emulator(self):
        data = self.emulator.recv(65536)
        if not data:
            return False
        self.log.write(data)
        self.log.flush()
        if self.client is not None:
            self._to_client(data)
        else:
            self.kept = (self.kept + data)[-KEEP:]
        return True

    def _to_client(self, data):
        try:
            self.client.sendall(data)
        except OSError:
            self._drop_client()

    def _drop_client(self):
        self.client.close()
        self.client = None

    def _accept(self):
        self.client, _ = self.listener.accept()
        self.client.settimeout(SEND_TIMEOUT)
        kept, self.kept = self.kept, b""
        if kept:
            self._to_client(kept)

    def _from_client(self):
        try:
            data = self.client.recv(4096)
        except OSError:
            data = b""
        if data:
            self.emulator.sendall(data)
        else:
            self._drop_client()

    def run(self):
        while self.emulator is None and not self.stopping:
            if select.select([self.emulator_listener], [], [], 0.2)[0]:
                self.emulator, _ = self.emulator_listener.accept()
        while not self.stopping:
            waiting = [self.emulator, self.client or self.listener]
            for s in select.select(waiting, [], [], 0.2)[0]:
                if s is self.emulator and not self._from_emulator():
                    if self.client is not None:
                        self._drop_client()     # the emulator ended: so does the client
                    return
                if s is self.listener:
                    self._accept()
                elif s is self.client:
                    self._from_client()
