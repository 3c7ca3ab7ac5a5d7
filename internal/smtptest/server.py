"""A small SMTP server for tests, built on aiosmtpd.

Usage: server.py MODE CERT KEY USER PASSWORD OUTDIR
MODE is "starttls" (plain connection, STARTTLS required before AUTH and
MAIL) or "tls" (implicit TLS from the first byte). Every accepted message is
written to OUTDIR as a JSON file {"mail_from", "rcpt_tos", "data" (base64)}
via a temporary file and an atomic rename. The listening port is printed as
"READY <port>" on stdout. The server stops when stdin is closed.
"""
import asyncio
import base64
import json
import os
import ssl
import sys
import threading
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%020d-%06d" % (time.time_ns(), self.count)
        doc = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": base64.b64encode(envelope.original_content or b"").decode("ascii"),
        }
        tmp = os.path.join(self.outdir, name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.rename(tmp, os.path.join(self.outdir, name + ".json"))
        return "250 OK"


def main():
    mode, cert, key, user, password, outdir = sys.argv[1:7]
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    handler = Handler(outdir)

    def factory():
        if mode == "tls":
            return SMTP(handler, hostname="localhost", authenticator=authenticator,
                        auth_required=True, auth_require_tls=False,
                        decode_data=False)
        return SMTP(handler, hostname="localhost", tls_context=ctx,
                    require_starttls=True, authenticator=authenticator,
                    auth_required=True, auth_require_tls=True,
                    decode_data=False)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        factory, host="127.0.0.1", port=0,
        ssl=ctx if mode == "tls" else None))
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write("READY %d\n" % port)
    sys.stdout.flush()

    def watch_stdin():
        try:
            sys.stdin.read()
        finally:
            loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=watch_stdin, daemon=True).start()
    loop.run_forever()
    server.close()


if __name__ == "__main__":
    main()
