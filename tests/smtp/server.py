"""A real SMTP server for tests/send.rs (aiosmtpd): listens on 127.0.0.1:PORT,
saves every message it accepts to DIR as N.eml (with its envelope in
N.json), and refuses (550) any recipient whose address starts with
`refuse`. Installed by .ci/test (pip install aiosmtpd). Given a
certificate and its key (PEM), it offers STARTTLS and requires it before
any mail.

    python3 tests/smtp/server.py PORT DIR [CERT KEY]
"""
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller


class Save:
    def __init__(self, folder):
        self.folder = folder
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.folder, "%06d" % self.n)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 queued as %06d" % self.n


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    tls = {}
    if len(sys.argv) > 4:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
        tls = {"tls_context": context, "require_starttls": True}
    c = Controller(Save(folder), hostname="127.0.0.1", port=port, **tls)
    c.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        c.stop()


if __name__ == "__main__":
    main()
