# SPDX-License-Identifier: GPL-2.0-only
"""Small network tools of the netns tier (tests/netns/lib.sh runs them with $PY).

  serve ADDR PORT[,PORT...] LOG    TCP and UDP echo on each port; LOG gets one line per
                                   TCP connection ("tcp PEER PEERPORT PORT") and per
                                   datagram ("udp PEER PEERPORT PORT"), then "ready"
  http ADDR PORT DIR LOG           an HTTP server of DIR's files; LOG gets "ready", then one
                                   line per request, "CLIENT - - [date] \"GET ...\" 200 -"
                                   (http.server's, without its reverse lookup of ADDR, which
                                   hangs where the resolver is unreachable)
  sniff IFACE LOG                  every IPv4 packet arriving on IFACE, one line each:
                                   "SRC DST PROTO SPORT DPORT" (ICMP: type and code)
  ticker HOST PORT LOG SECONDS     one TCP connection; a line every 0.1 s, each echo
                                   awaited 1.5 s; LOG: "ok N TIME" per echo, "err N TIME
                                   WHY" and exit 1 at the first one that does not come
  udp-ask HOST PORT [SRC[:SPORT]]  one datagram, one reply awaited 2 s: prints it, else exit 1
  udp-flows HOST PORT N [WAIT]     N datagrams from N sockets (N source ports, N flows);
                                   prints how many got a reply within WAIT seconds
  udp-refused HOST PORT             one datagram on a connected socket: exit 0 if an ICMP
                                   port unreachable comes back (ECONNREFUSED) within 2 s
  raw-ping IFACE DSTMAC SRC DST N  N ICMP echo requests built by hand (any SRC, any DST,
                                   127.0.0.1 too) sent as frames to DSTMAC out of IFACE
  raw-syn IFACE DSTMAC SRC SPORT DST DPORT N
                                   N TCP SYNs SRC:SPORT → DST:DPORT built by hand (127.0.0.1
                                   too), checksums right, sent as frames to DSTMAC out of IFACE
  tcp-flows HOST PORT N LOG SECS   opens N TCP connections one after another (each 2 s at
                                   most) and holds them SECS seconds; LOG: "open K" per
                                   connection made, "refused K" per one that failed

Every mode is bounded in time or killed by the test (lib.sh: bg); none reads stdin.
"""
import os
import select
import socket
import struct
import sys
import threading
import time


def logger(path):
	f = open(path, "a", buffering=1)
	lock = threading.Lock()

	def log(line):
		with lock:
			f.write(line + "\n")
			f.flush()
	return log


def serve(addr, ports, path):
	log = logger(path)

	def tcp_conn(c, peer, port):
		log("tcp %s %d %d" % (peer[0], peer[1], port))
		try:
			while True:
				data = c.recv(4096)
				if not data:
					break
				c.sendall(data)
		except OSError:
			pass
		finally:
			c.close()

	def tcp_loop(s, port):
		while True:
			c, peer = s.accept()
			threading.Thread(target=tcp_conn, args=(c, peer, port), daemon=True).start()

	def udp_loop(s, port):
		while True:
			data, peer = s.recvfrom(65535)
			log("udp %s %d %d" % (peer[0], peer[1], port))
			s.sendto(data, peer)

	threads = []
	for port in ports:
		t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
		t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		t.bind((addr, port))
		t.listen(256)
		u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		u.bind((addr, port))
		threads.append(threading.Thread(target=tcp_loop, args=(t, port), daemon=True))
		threads.append(threading.Thread(target=udp_loop, args=(u, port), daemon=True))
	for t in threads:
		t.start()
	log("ready")
	while True:
		time.sleep(3600)


def http_serve(addr, port, root, path):
	import functools
	import http.server

	log = logger(path)

	class Handler(http.server.SimpleHTTPRequestHandler):
		def log_message(self, fmt, *args):
			log("%s - - [%s] %s" % (self.address_string(), self.log_date_time_string(),
						fmt % args))

	class Server(http.server.ThreadingHTTPServer):
		def server_bind(self):
			socket.socket.setsockopt(self.socket, socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
			self.socket.bind(self.server_address)
			self.server_address = self.socket.getsockname()
			self.server_name, self.server_port = addr, port

	srv = Server((addr, port), functools.partial(Handler, directory=root))
	log("ready")
	srv.serve_forever()


def sniff(iface, path):
	log = logger(path)
	s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
	s.bind((iface, 0))
	log("ready")
	while True:
		data, meta = s.recvfrom(65535)
		if meta[2] == socket.PACKET_OUTGOING or len(data) < 34:
			continue
		ip = data[14:]
		ihl = (ip[0] & 0x0F) * 4
		proto = ip[9]
		src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
		a = b = 0
		if proto in (6, 17) and len(ip) >= ihl + 4:
			a, b = struct.unpack("!HH", ip[ihl:ihl + 4])
		elif proto == 1 and len(ip) >= ihl + 2:
			a, b = ip[ihl], ip[ihl + 1]
		log("%s %s %d %d %d" % (src, dst, proto, a, b))


def ticker(host, port, path, seconds):
	log = logger(path)
	try:
		s = socket.create_connection((host, port), timeout=3)
	except OSError as e:
		log("err 0 %.3f connect: %s" % (time.time(), e))
		return 1
	log("connected %.3f %s:%d" % (time.time(), *s.getsockname()))
	s.settimeout(1.5)
	end = time.time() + seconds
	n, buf = 0, b""
	while time.time() < end:
		n += 1
		want = b"%d\n" % n
		try:
			s.sendall(want)
			while b"\n" not in buf:
				data = s.recv(4096)
				if not data:
					log("err %d %.3f eof" % (n, time.time()))
					return 1
				buf += data
		except OSError as e:
			log("err %d %.3f %s" % (n, time.time(), e or "timeout"))
			return 1
		line, _, buf = buf.partition(b"\n")
		if line + b"\n" != want:
			log("err %d %.3f echo %r" % (n, time.time(), line))
			return 1
		log("ok %d %.3f" % (n, time.time()))
		time.sleep(0.1)
	log("done %d %.3f" % (n, time.time()))
	return 0


def udp_ask(host, port, src=None):
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	if src:
		addr, _, sport = src.partition(":")
		s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		s.bind((addr, int(sport or 0)))
	s.settimeout(2)
	s.sendto(b"ask\n", (host, port))
	try:
		data = s.recv(65535)
	except OSError:
		return 1
	sys.stdout.write(data.decode(errors="replace"))
	return 0


def udp_refused(host, port):
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.settimeout(2)
	s.connect((host, port))
	s.send(b"anyone?\n")
	try:
		s.recv(65535)
	except ConnectionRefusedError:
		print("refused")
		return 0
	except OSError as e:
		print("no refusal: %s" % e)
		return 1
	print("an answer")
	return 1


def csum(b):
	if len(b) % 2:
		b += b"\0"
	t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
	while t >> 16:
		t = (t & 0xFFFF) + (t >> 16)
	return ~t & 0xFFFF


def raw_ping(iface, dstmac, src, dst, n):
	s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
	s.bind((iface, 0))
	srcmac = s.getsockname()[4]
	eth = bytes.fromhex(dstmac.replace(":", "")) + srcmac + b"\x08\x00"
	for seq in range(1, n + 1):
		icmp = struct.pack("!BBHHH", 8, 0, 0, os.getpid() & 0xFFFF, seq) + b"berth" * 8
		icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
		ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0,
				 socket.inet_aton(src), socket.inet_aton(dst))
		ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
		s.send(eth + ip + icmp)
		time.sleep(0.05)
	return 0


def raw_syn(iface, dstmac, src, sport, dst, dport, n):
	s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
	s.bind((iface, 0))
	srcmac = s.getsockname()[4]
	eth = bytes.fromhex(dstmac.replace(":", "")) + srcmac + b"\x08\x00"
	saddr, daddr = socket.inet_aton(src), socket.inet_aton(dst)
	for seq in range(1, n + 1):
		# seq, no ack, data offset 5, SYN, window 64240, no options
		tcp = struct.pack("!HHIIBBHHH", sport, dport, 0x1000 * seq, 0, 0x50, 0x02, 64240,
				  0, 0)
		pseudo = saddr + daddr + struct.pack("!BBH", 0, 6, len(tcp))
		tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
		ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), seq, 0x4000, 64, 6, 0,
				 saddr, daddr)
		ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
		s.send(eth + ip + tcp)
		time.sleep(0.05)
	return 0


def udp_flows(host, port, n, wait):
	socks = []
	for i in range(n):
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		s.setblocking(False)
		s.connect((host, port))
		s.send(b"flow %d\n" % i)
		socks.append(s)
	replied = set()
	end = time.time() + wait
	while time.time() < end and len(replied) < n:
		r, _, _ = select.select([s for s in socks if s not in replied], [], [],
					max(0.0, end - time.time()))
		for s in r:
			try:
				s.recv(65535)
				replied.add(s)
			except OSError:
				pass
	print(len(replied))
	return 0


def tcp_flows(host, port, n, path, hold):
	log = logger(path)
	socks = []
	for k in range(1, n + 1):
		try:
			socks.append(socket.create_connection((host, port), timeout=2))
			log("open %d" % k)
		except OSError:
			log("refused %d" % k)
	log("held %d" % len(socks))
	time.sleep(hold)
	return 0


def main(argv):
	cmd, args = argv[1], argv[2:]
	if cmd == "serve":
		return serve(args[0], [int(p) for p in args[1].split(",")], args[2])
	if cmd == "http":
		return http_serve(args[0], int(args[1]), args[2], args[3])
	if cmd == "sniff":
		return sniff(args[0], args[1])
	if cmd == "ticker":
		return ticker(args[0], int(args[1]), args[2], float(args[3]))
	if cmd == "udp-ask":
		return udp_ask(args[0], int(args[1]), args[2] if len(args) > 2 else None)
	if cmd == "udp-flows":
		return udp_flows(args[0], int(args[1]), int(args[2]),
				 float(args[3]) if len(args) > 3 else 2.0)
	if cmd == "udp-refused":
		return udp_refused(args[0], int(args[1]))
	if cmd == "raw-ping":
		return raw_ping(args[0], args[1], args[2], args[3], int(args[4]))
	if cmd == "raw-syn":
		return raw_syn(args[0], args[1], args[2], int(args[3]), args[4], int(args[5]),
			       int(args[6]))
	if cmd == "tcp-flows":
		return tcp_flows(args[0], int(args[1]), int(args[2]), args[3], float(args[4]))
	sys.exit("nettool: unknown mode %s" % cmd)


if __name__ == "__main__":
	sys.exit(main(sys.argv) or 0)
