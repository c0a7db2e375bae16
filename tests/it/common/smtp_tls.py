"""An SMTP server with TLS and authentication for the mail tests (aiosmtpd).

Usage: smtp_tls.py PORT MAILDIR starttls|implicit CERT KEY USER PASSWORD

Messages are accepted only over TLS (STARTTLS required, or TLS from the first byte) and only
after AUTH with USER / PASSWORD; they are stored in MAILDIR like `aiosmtpd -c Mailbox`.
"""
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, maildir, mode, cert, key, user, password = sys.argv[1:8]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == user.encode()
        and auth_data.password == password.encode()
    )
    return AuthResult(success=ok, handled=False)


options = dict(
    hostname="127.0.0.1",
    port=int(port),
    authenticator=authenticator,
    auth_required=True,
    auth_require_tls=True,
)
if mode == "starttls":
    options.update(tls_context=context, require_starttls=True)
else:
    # TLS from the first byte; aiosmtpd only knows about TLS it negotiated itself (STARTTLS),
    # so it must not hide AUTH here for want of it.
    options.update(ssl_context=context, auth_require_tls=False)
controller = Controller(Mailbox(maildir), **options)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
