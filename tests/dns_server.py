"""A local DNS server for the tests of custom domains' TXT verification: someone else's server (the
customer's DNS), so a real one speaking the protocol, on 127.0.0.1 and a free UDP port, and the
real resolver code (dnspython in tenants.domains) queries it.

``LocalDNSServer(txt={"_tenant-domain.shop.example.test": ["value"]})`` answers those TXT records
and NXDOMAIN for every other name; ``rcode="SERVFAIL"`` answers every query with that code.
``silent_udp_port()`` is a bound port that never answers.
"""

import socket
import threading

from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class _Zone(BaseResolver):
    def __init__(self, txt, rcode):
        self.txt = {name.lower().rstrip("."): values for name, values in txt.items()}
        self.rcode = rcode
        self.queries: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        name = str(request.q.qname).lower().rstrip(".")
        with self.lock:
            self.queries.append((name, QTYPE[request.q.qtype]))
        reply = request.reply()
        if self.rcode:
            reply.header.rcode = getattr(RCODE, self.rcode)
        elif name not in self.txt:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for value in self.txt[name]:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
        return reply  # the name exists with no record of another type: an empty answer


class LocalDNSServer:
    def __init__(self, txt=None, rcode=None):
        self.zone = _Zone(txt or {}, rcode)
        self.server = DNSServer(
            self.zone, address="127.0.0.1", port=0, logger=DNSLogger(logf=lambda *_: None)
        )
        self.address = f"127.0.0.1:{self.server.server.server_address[1]}"
        self.server.start_thread()

    @property
    def queries(self) -> list[tuple[str, str]]:
        with self.zone.lock:
            return list(self.zone.queries)

    def close(self):
        self.server.stop()
        self.server.server.server_close()


def silent_udp_port() -> socket.socket:
    """A UDP socket bound on 127.0.0.1 that nobody reads: a DNS server that never answers. Close it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock
