#!/usr/bin/python3
"""A slixmpp peer for jmi's interoperability tests.

It logs in, plays one role of XEP-0353 with slixmpp's own xep_0353 plugin
(namespace urn:xmpp:jingle-message:0, no type, no store hint), and prints one
JSON line per JMI message it receives ({"got": ...}) or sends ({"sent": ...}).
A JMI element the plugin fires no event for (ringing, finish) is reported as
{"ignored": ...}: it arrived, and slixmpp did nothing with it.
It exits after --events lines or --timeout seconds.

The password comes from the environment variable SLIXPEER_PASSWORD, so that
it never shows in ps.

The first line is {"ready": JID} once the server has reflected the peer's
own initial presence: from then on the server counts the peer as available,
and a message to its bare JID reaches it.

Roles: answer (proceed to any propose), reject (reject any propose),
listen (only report what comes),
call PEER (propose, report what comes back, then leave without finish),
call-retract PEER AFTER (propose, then retract after AFTER seconds),
watch (with priority -1, so that no message to the bare JID reaches it:
report the other resources of its own account as they come online,
{"online": JID}, and go offline, {"offline": JID}).
"""
import argparse
import asyncio
import json
import os
import sys
import uuid

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher.base import MatcherBase

NS = "urn:xmpp:jingle-message:0"
KINDS = ("propose", "retract", "accept", "proceed", "reject")
RTP = "urn:xmpp:jingle:apps:rtp:1"
PASSWORD_ENV = "SLIXPEER_PASSWORD"


def unknown_jmi(msg):
    """The (name, id) of each JMI child of msg that the plugin has no event for."""
    names = []
    for child in msg.xml:
        ns, _, name = child.tag[1:].partition("}")
        if ns == NS and name not in KINDS:
            names.append((name, child.get("id", "")))
    return names


class UnknownJMI(MatcherBase):
    """Matches a message with a JMI element the plugin has no event for."""

    def match(self, xml):
        return xml.name == "message" and bool(unknown_jmi(xml))


class Peer(slixmpp.ClientXMPP):
    def __init__(self, args, password):
        super().__init__(args.jid, password)
        self.args = args
        self.count = 0
        self.ready = False
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0353")
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("failed_auth", lambda _: self.emit({"error": "auth"}, final=True))
        self.add_event_handler("presence_available", self.available)
        self.add_event_handler("presence_unavailable", self.unavailable)
        # slixmpp's "message" event is only for messages with a body.
        self.register_handler(Callback("unknown JMI", UnknownJMI(None), self.unknown))
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

    def unknown(self, msg):
        for name, sid in unknown_jmi(msg):
            self.emit({"ignored": name, "id": sid, "from": str(msg["from"])})

    def available(self, pres):
        who = pres["from"]
        if who == self.boundjid:
            if not self.ready:
                self.ready = True
                self.emit({"ready": str(self.boundjid)})
                asyncio.ensure_future(self.act())
        elif self.args.role == "watch" and who.bare == self.boundjid.bare:
            self.emit({"online": str(who)})

    def unavailable(self, pres):
        who = pres["from"]
        if self.args.role == "watch" and who.bare == self.boundjid.bare and who != self.boundjid:
            self.emit({"offline": str(who)})

    async def start(self, _):
        self.send_presence(ppriority=-1 if self.args.role == "watch" else 0)

    async def act(self):
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
    p.add_argument("--server", required=True, help="host:port")
    p.add_argument("--ca", help="CA file for STARTTLS")
    p.add_argument("--plaintext", action="store_true")
    p.add_argument("--events", type=int, default=0)
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("role", choices=("answer", "reject", "listen", "call", "call-retract", "watch"))
    p.add_argument("peer", nargs="?")
    p.add_argument("after", nargs="?", type=float, default=1.0)
    a = p.parse_args()
    if a.role.startswith("call") and not a.peer:
        p.error("call needs PEER")
    password = os.environ.pop(PASSWORD_ENV, "")
    if not password:
        p.error("set " + PASSWORD_ENV)
    host, port = a.server.rsplit(":", 1)
    x = Peer(a, password)
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
