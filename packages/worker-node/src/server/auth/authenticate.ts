import type { ServerUnaryCall } from "@grpc/grpc-js";
import { WorkerError } from "../../errors.js";
import type { Caller } from "../../session/caller.js";
import type { TokenFile } from "./token-file.js";

/** The one identity of a worker without authentication: every local caller shares it, so all see all. */
export const ANONYMOUS = "anonymous";

/** What every call kind (unary, server stream) offers; grpc-js does not export its ServerSurfaceCall. */
type IncomingCall = Pick<ServerUnaryCall<unknown, unknown>, "metadata" | "getAuthContext">;

/** Bearer scheme, case-insensitive as RFC 6750 says; the token is the rest of the header. */
const BEARER = /^bearer\s+(\S+)\s*$/i;

export interface AuthenticatorOptions {
  /** auth.token_file, read: set, every call needs a bearer token it holds, and the token names the caller. */
  tokens?: TokenFile;
  /** tls.client_ca_file set: the handshake checked the client's certificate, whose CN names the caller. */
  clientCertificates: boolean;
  admins: readonly string[];
}

/**
 * Who makes a WorkerService call. A token, when the worker has a token file, wins over the certificate:
 * the certificate then only admits the connection. Every failure is the same UNAUTHENTICATED, saying
 * nothing of which part was wrong (missing header, bad scheme, unknown token).
 */
export class Authenticator {
  private readonly admins: ReadonlySet<string>;

  constructor(private readonly options: AuthenticatorOptions) {
    this.admins = new Set(options.admins);
  }

  caller(call: IncomingCall): Caller {
    const identity = this.identify(call);
    if (identity === undefined) {
      throw new WorkerError(
        "UNAUTHENTICATED",
        "the call is not authenticated: send the metadata `authorization: Bearer <token>` with a token of this worker",
      );
    }
    return { identity, admin: this.admins.has(identity) };
  }

  private identify(call: IncomingCall): string | undefined {
    const { tokens, clientCertificates } = this.options;
    if (tokens) {
      const [header] = call.metadata.get("authorization");
      const token = typeof header === "string" ? BEARER.exec(header)?.[1] : undefined;
      return token === undefined ? undefined : tokens.identify(token);
    }
    if (clientCertificates) {
      const certificate = call.getAuthContext().sslPeerCertificate;
      if (!certificate) return undefined;
      // A subject may repeat CN, and may have none: the whole subject is then still one name per certificate.
      const name = certificate.subject.CN;
      return typeof name === "string" ? name : JSON.stringify(certificate.subject);
    }
    return ANONYMOUS;
  }
}
