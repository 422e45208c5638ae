"""A private Dovecot IMAP server for tests: its own config, port, users and maildir.

Tests of an inbox connector (ours or a user's) run against a real IMAP server, not a fake:

```python
from connectors.testing.dovecot import dovecot_server  # noqa: F401 (a pytest fixture)

def test_reads_mail(dovecot_server):
    uid = dovecot_server.append(b"From: a@example.com\\r\\nSubject: hi\\r\\n\\r\\nhello\\r\\n")
```

The fixture skips the test, saying why, where Dovecot is not installed (Debian:
``apt-get install dovecot-imapd``). As root, Dovecot's login processes run as its own
unprivileged users and the mail belongs to ``nobody``; otherwise everything runs as the
current user.
"""

from __future__ import annotations

import contextlib
import getpass
import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["Dovecot", "dovecot_binary", "dovecot_server"]

USER = "bpa"
PASSWORD = "imap-test-Secret-9"  # not a real secret: a throwaway server on 127.0.0.1
_APPENDUID = re.compile(rb"APPENDUID (\d+) (\d+)")


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)),
        None,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _user(*names: str) -> pwd.struct_passwd:
    for name in names:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise LookupError(f"none of the users {names} exists")


class Dovecot:
    """One running server: `start()`, `stop()`, and an admin client for the test's side."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="bpa-dovecot-"))
        self.root.chmod(0o755)  # Dovecot's unprivileged processes reach their sockets here
        self.port = _free_port()
        self.user, self.password = USER, PASSWORD
        self.log = self.root / "dovecot.log"
        self.process: subprocess.Popen[bytes] | None = None

    def _config(self) -> Path:
        base, state, mail = self.root / "run", self.root / "state", self.root / "mail"
        for folder in (base, state, mail):
            folder.mkdir()
        if os.geteuid() == 0:
            internal = _user("dovecot", "nobody")
            login = _user("dovenull", "nobody")
            owner = _user("nobody")
            os.chown(mail, owner.pw_uid, owner.pw_gid)
        else:
            internal = login = owner = pwd.getpwnam(getpass.getuser())
        (self.root / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        conf = self.root / "dovecot.conf"
        conf.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
instance_name = bpa-test-{self.port}
base_dir = {base}
state_dir = {state}
log_path = {self.log}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal.pw_name}
default_internal_group = {_group(internal)}
default_login_user = {login.pw_name}
first_valid_uid = {min(owner.pw_uid, 500)}
mail_location = maildir:{mail}/%u
mail_fsync = never
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root / "users"}
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={mail}/%u
}}
"""
        )
        return conf

    def start(self, timeout: float = 15.0) -> None:
        conf = self._config()
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited at start:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not answer on port {self.port}:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def connector_config(self, **changes: object) -> dict[str, object]:
        """The `imap` connector config for this server."""
        config: dict[str, object] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "username": self.user,
            "password": self.password,
            "timeout_s": 10,
        }
        return config | changes

    # -- the test's own client ------------------------------------------------------------
    @contextlib.contextmanager
    def client(self) -> Iterator[imaplib.IMAP4]:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            imap.login(self.user, self.password)
            yield imap
        finally:
            with contextlib.suppress(Exception):
                imap.logout()

    def append(self, raw: bytes, mailbox: str = "INBOX") -> int:
        """Deliver a message; its UID."""
        with self.client() as imap:
            status, data = imap.append(mailbox, None, None, raw)
            assert status == "OK", data
            found = _APPENDUID.search(data[0] or b"")
            assert found, data
            return int(found.group(2))

    def keywords(self, uid: int, mailbox: str = "INBOX") -> set[str]:
        """The flags and keywords a message carries now."""
        with self.client() as imap:
            imap.select(mailbox, readonly=True)
            status, data = imap.uid("FETCH", str(uid), "(FLAGS)")
            assert status == "OK", data
            text = b" ".join(d for d in data if isinstance(d, bytes)).decode()
            inner = text.partition("FLAGS (")[2].partition(")")[0]
            return set(inner.split())

    def create_mailbox(self, mailbox: str, *, replace: bool = False) -> None:
        """Create `mailbox`; with `replace`, delete it first (a new UIDVALIDITY)."""
        with self.client() as imap:
            if replace:
                status, data = imap.delete(mailbox)
                assert status == "OK", data
            status, data = imap.create(mailbox)
            assert status == "OK", data


def _group(user: pwd.struct_passwd) -> str:
    import grp

    return grp.getgrgid(user.pw_gid).gr_name


@pytest.fixture
def dovecot_server() -> Iterator[Dovecot]:
    """A fresh Dovecot with an empty mailbox for user `USER`; skipped where not installed."""
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    server = Dovecot(binary)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    try:
        yield server
    finally:
        server.stop()
