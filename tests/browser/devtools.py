"""Headless Chromium driven over the Chrome DevTools protocol, with the standard library only.

Chromium is started with ``--remote-debugging-pipe``: it reads protocol commands from file
descriptor 3 and writes responses and events to file descriptor 4, one JSON message per
NUL-terminated chunk. No port is opened, no WebSocket library and no chromedriver are needed,
and the browser version cannot disagree with a driver version.

The browser runs with a fresh profile, and with a host-resolver rule under which every host
name except ``127.0.0.1`` fails to resolve, so nothing a page does can reach the network.
"""

import fcntl
import json
import os
import select
import shutil
import signal
import tempfile
import time
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
"""Executable names tried, in order, when ``GMMLIT_CHROMIUM`` does not name the browser."""

CHROMIUM_FLAGS = (
    "--headless",
    "--remote-debugging-pipe",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "about:blank",
)
"""Command-line flags; ``--no-sandbox`` and ``--user-data-dir`` are added by :func:`launch`."""

COMMAND_TIMEOUT_SECONDS = 30.0
"""Bound on any single protocol command: generous, since two cores are shared with others."""


class DevToolsError(RuntimeError):
    """The browser answered a command with an error, died, or did not answer in time."""


def find_chromium():
    """Return the path of a Chromium executable, or None when none is installed.

    Returns
    -------
    str or None
        ``$GMMLIT_CHROMIUM`` when set, else the first of :data:`CHROMIUM_NAMES` on ``PATH``.
    """
    explicit = os.environ.get("GMMLIT_CHROMIUM")
    if explicit:
        return explicit if shutil.which(explicit) else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _high_cloexec_copy(fd):
    """Return a close-on-exec duplicate of ``fd`` numbered 10 or above, closing ``fd``.

    Keeps the pipe ends clear of descriptors 3 and 4, which the child's ``dup2`` targets.
    """
    copy = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return copy


class Browser:
    """A running headless Chromium and its DevTools pipe.

    Use :func:`launch` to start one and :meth:`close` (or a ``with`` block) to stop it.
    Every protocol event received is kept in :attr:`events` until :meth:`clear_events`.

    Parameters
    ----------
    pid : int
        Process id (and process group id) of the browser.
    to_browser : int
        Descriptor on which commands are written.
    from_browser : int
        Descriptor from which responses and events are read.
    profile_dir : str
        The fresh ``--user-data-dir``; removed by :meth:`close`.
    log_path : str
        File receiving the browser's stdout and stderr, quoted when it fails.
    """

    def __init__(self, pid, to_browser, from_browser, profile_dir, log_path):
        self.pid = pid
        self.to_browser = to_browser
        self.from_browser = from_browser
        self.profile_dir = profile_dir
        self.log_path = log_path
        self.events = []
        self._buffer = b""
        self._next_id = 0
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def log_tail(self, n_lines=20):
        """Return the last ``n_lines`` lines the browser wrote to stdout/stderr."""
        try:
            lines = Path(self.log_path).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n_lines:])

    def _write(self, message):
        data = json.dumps(message).encode() + b"\0"
        while data:
            written = os.write(self.to_browser, data)
            data = data[written:]

    def _read_message(self, deadline):
        """Return the next protocol message, or None when ``deadline`` passes first."""
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.from_browser], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise DevToolsError(f"Chromium closed the DevTools pipe; its log ends:\n{self.log_tail()}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, params=None, session_id=None, timeout=COMMAND_TIMEOUT_SECONDS):
        """Send one protocol command and return its result, keeping events that arrive meanwhile.

        Parameters
        ----------
        method : str
            Protocol method, e.g. ``"Page.navigate"``.
        params : dict, optional
            Its parameters.
        session_id : str, optional
            Target session (from ``Target.attachToTarget`` with ``flatten``); None for the browser.
        timeout : float
            Seconds to wait for the answer.

        Returns
        -------
        dict
            The command's ``result``.

        Raises
        ------
        DevToolsError
            When the browser reports an error, dies, or does not answer within ``timeout``.
        """
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        self._write(message)
        deadline = time.monotonic() + timeout
        while True:
            received = self._read_message(deadline)
            if received is None:
                raise DevToolsError(f"no answer to {method} within {timeout} s")
            if received.get("id") == self._next_id:
                if "error" in received:
                    raise DevToolsError(f"{method} failed: {received['error']}")
                return received.get("result", {})
            if "method" in received:
                self.events.append(received)

    def wait_for_event(self, method, session_id=None, timeout=COMMAND_TIMEOUT_SECONDS):
        """Return the first kept event named ``method``, receiving events until one comes.

        Call :meth:`clear_events` before the action whose event is awaited.

        Raises
        ------
        DevToolsError
            When it does not arrive within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event["method"] == method and event.get("sessionId") == session_id:
                    return event
            seen = len(self.events)
            received = self._read_message(deadline)
            if received is None:
                raise DevToolsError(f"no {method} event within {timeout} s")
            if "method" in received:
                self.events.append(received)

    def drain_events(self, quiet_seconds, timeout):
        """Receive events until none arrives for ``quiet_seconds`` or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = self._read_message(min(deadline, time.monotonic() + quiet_seconds))
            if received is None:
                return
            if "method" in received:
                self.events.append(received)

    def clear_events(self):
        """Forget every event received so far."""
        self.events = []

    def close(self):
        """Close the browser (politely, then by signal to its process group) and remove its profile."""
        if self._closed:
            return
        self._closed = True
        try:
            self.call("Browser.close", timeout=5.0)
        except (DevToolsError, OSError):
            pass
        deadline = time.monotonic() + 5.0
        exited = False
        while time.monotonic() < deadline:
            if os.waitpid(self.pid, os.WNOHANG)[0] == self.pid:
                exited = True
                break
            time.sleep(0.05)
        if not exited:
            os.killpg(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.to_browser)
        os.close(self.from_browser)
        shutil.rmtree(self.profile_dir, ignore_errors=True)


def launch(executable, extra_flags=()):
    """Start headless Chromium with a fresh profile and return a connected :class:`Browser`.

    Parameters
    ----------
    executable : str
        Path of the Chromium executable (see :func:`find_chromium`).
    extra_flags : sequence of str
        Flags added after :data:`CHROMIUM_FLAGS`.

    Returns
    -------
    Browser
        Already answering protocol commands.

    Raises
    ------
    DevToolsError
        When the browser does not answer ``Browser.getVersion``; the message quotes its log.
    """
    profile_dir = tempfile.mkdtemp(prefix="gmmlit-chromium-")
    log_path = os.path.join(profile_dir, "chromium.log")
    flags = list(CHROMIUM_FLAGS[:-1]) + list(extra_flags) + [f"--user-data-dir={profile_dir}"]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox.
    flags.append(CHROMIUM_FLAGS[-1])
    commands_read, commands_write = (_high_cloexec_copy(fd) for fd in os.pipe())
    replies_read, replies_write = (_high_cloexec_copy(fd) for fd in os.pipe())
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2),
        (os.POSIX_SPAWN_DUP2, commands_read, 3),
        (os.POSIX_SPAWN_DUP2, replies_write, 4),
    ]
    pid = os.posix_spawn(executable, [executable, *flags], dict(os.environ),
                         file_actions=file_actions, setsid=True)
    os.close(commands_read)
    os.close(replies_write)
    browser = Browser(pid, commands_write, replies_read, profile_dir, log_path)
    try:
        browser.call("Browser.getVersion", timeout=60.0)
    except DevToolsError:
        log = browser.log_tail()
        browser.close()
        raise DevToolsError(f"Chromium ({executable}) did not start; its log ends:\n{log}") from None
    return browser
