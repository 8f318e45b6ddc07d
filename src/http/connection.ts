import { BlockList, isIP } from "node:net";

/**
 * What the server knows about a connection, recorded when the socket is accepted. `socket.remoteAddress` is
 * read from the kernel on demand and is undefined once the socket is gone: a client that resets its
 * connection right after writing a request would otherwise reach the handler with no address at all.
 */
export interface ConnectionInfo {
  /** The peer's address at accept time; undefined when the socket was already gone then. */
  readonly peer: string | undefined;
  /** Set when the server closed the connection for a timeout, so its request is not a client cancellation. */
  timedOut: boolean;
  /** The response being written on the connection (to tell whether a raw error reply may still be sent). */
  response?: { readonly headersSent: boolean; readonly writableFinished: boolean };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** True for any address in 127.0.0.0/8 or ::1, IPv4-mapped forms (::ffff:127.0.0.1) included. */
export function isLoopbackAddress(address: string): boolean {
  const mapped = address.toLowerCase().startsWith("::ffff:") ? address.slice(7) : address;
  const family = isIP(mapped);
  if (family === 0) return false;
  return LOOPBACK.check(mapped, family === 6 ? "ipv6" : "ipv4");
}

/** True when binding `host` listens on loopback only (a loopback address or "localhost"). */
export function isLoopbackHost(host: string): boolean {
  return host.toLowerCase() === "localhost" || isLoopbackAddress(host);
}
