#!/usr/bin/python3
"""A slixmpp peer for jmi's interoperability tests.

It logs in, plays one role of XEP-0353 with slixmpp's own xep_0353 plugin
(namespace urn:xmpp:jingle-message:0, no type, no store hint), and prints one
JSON line per JMI message it receives ({"got": ...}) or sends ({"sent": ...}).
It exits after --events lines or --timeout seconds.

Roles: answer (proceed to any propose), reject (reject any propose),
listen (only report what comes),
call PEER (propose, report what comes back, then leave without finish),
call-retract PEER AFTER (propose, then retract after AFTER seconds).
"""
import argparse
import asyncio
import json
import sys
import uuid

import slixmpp

KINDS = ("propose", "retract", "accept", "proceed", "reject")
RTP = "urn:xmpp:jingle:apps:rtp:1"


class Peer(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password)
        self.args = args
        self.count = 0
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0353")
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("failed_auth", lambda _: self.emit({"error": "auth"}, final=True))
        for kind in KINDS:
            self.add_event_handler("jingle_message_" + kind, self.make_handler(kind))

    def emit(self, obj, final=False):
        print(json.dumps(obj), flush=True)
        self.count += 1
        if final or (self.args.events and self.count >= self.args.events):
            self.disconnect()

    def make_handler(self, kind):
        def handle(msg):
            sid = msg["jingle_" + kind]["id"]
            self.emit({"got": kind, "id": sid, "from": str(msg["from"])})
            if kind == "propose" and self.args.role in ("answer", "reject"):
                reply = "proceed" if self.args.role == "answer" else "reject"
                getattr(self.plugin["xep_0353"], reply)(msg["from"], sid)
                self.emit({"sent": reply, "id": sid, "to": str(msg["from"])})
        return handle

    async def start(self, _):
        self.send_presence()
        self.emit({"ready": str(self.boundjid)})
        a = self.args
        if a.role in ("call", "call-retract"):
            sid = str(uuid.uuid4())
            self.plugin["xep_0353"].propose(a.peer, sid, [(RTP, "audio")])
            self.emit({"sent": "propose", "id": sid, "to": a.peer})
            if a.role == "call-retract":
                await asyncio.sleep(a.after)
                self.plugin["xep_0353"].retract(a.peer, sid)
                self.emit({"sent": "retract", "id": sid, "to": a.peer})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--server", required=True, help="host:port")
    p.add_argument("--ca", help="CA file for STARTTLS")
    p.add_argument("--plaintext", action="store_true")
    p.add_argument("--events", type=int, default=0)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("role", choices=("answer", "reject", "listen", "call", "call-retract"))
    p.add_argument("peer", nargs="?")
    p.add_argument("after", nargs="?", type=float, default=1.0)
    a = p.parse_args()
    if a.role.startswith("call") and not a.peer:
        p.error("call needs PEER")
    host, port = a.server.rsplit(":", 1)
    x = Peer(a)
    if a.ca:
        x.ca_certs = a.ca
    if a.plaintext:
        x.connect((host, int(port)), disable_starttls=True, force_starttls=False)
    else:
        x.connect((host, int(port)))
    loop = asyncio.get_event_loop()
    loop.call_later(a.timeout, lambda: (x.emit({"timeout": a.timeout}), x.disconnect()))
    loop.run_until_complete(x.disconnected)


if __name__ == "__main__":
    sys.exit(main())
