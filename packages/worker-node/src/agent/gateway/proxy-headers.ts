import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

// RFC 9110 7.6.1: meaningful for one connection only, never forwarded.
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];
// Whatever the sandbox sends as a credential is dropped: the provider's key is the gateway's to add.
const CREDENTIALS = ["authorization", "proxy-authorization", "x-api-key", "cookie"];

/**
 * The headers to send upstream: the sandbox's, without credentials, hop-by-hop headers, `host` and the body's
 * length (the body may be rewritten), plus the provider's credential when there is one.
 *
 * `accept-encoding` is forced to identity: usage is read from the response as it passes, which a compressed
 * body would hide, and model responses are mostly server-sent events that providers do not compress anyway.
 */
export function upstreamHeaders(incoming: IncomingHttpHeaders, credential: [string, string] | undefined): OutgoingHttpHeaders {
  const headers = withoutHopByHop(incoming, [...CREDENTIALS, "host", "content-length", "accept-encoding"]);
  headers["accept-encoding"] = "identity";
  if (credential) headers[credential[0]] = credential[1];
  return headers;
}

/** The headers to send back to the sandbox: the provider's, without hop-by-hop ones and cookies (the sandbox's are dropped). */
export function downstreamHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  return withoutHopByHop(incoming, ["set-cookie"]);
}

function withoutHopByHop(incoming: IncomingHttpHeaders, alsoDropped: readonly string[]): OutgoingHttpHeaders {
  const dropped = new Set([...HOP_BY_HOP, ...alsoDropped]);
  // A `Connection` header may name more headers of its own connection.
  for (const name of String(incoming.connection ?? "").split(",")) dropped.add(name.trim().toLowerCase());
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) if (value !== undefined && !dropped.has(name)) headers[name] = value;
  return headers;
}
