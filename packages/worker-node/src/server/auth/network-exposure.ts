import { isIPv4 } from "node:net";
import { ConfigError } from "../../config/config-error.js";
import type { WorkerConfig } from "../../config/worker-config.js";

/** 127.0.0.0/8, ::1 and localhost: only this machine can reach them. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return bare === "localhost" || bare === "::1" || (isIPv4(bare) && bare.startsWith("127."));
}

/**
 * Refuses to start a worker that anyone on the network could drive: a non-loopback grpc.host needs
 * TLS and authentication (a token file or client certificates). `grpc.insecure` overrides the
 * refusal; the returned warning is then logged at every start so it is never forgotten.
 */
export function checkNetworkExposure(config: Pick<WorkerConfig, "grpc" | "tls" | "auth">): string | undefined {
  const { grpc, tls, auth } = config;
  if (isLoopback(grpc.host)) return undefined;
  const encrypted = tls.certFile !== "" && tls.keyFile !== "";
  const authenticated = auth.tokenFile !== "" || tls.clientCaFile !== "";
  if (encrypted && authenticated) return undefined;
  const missing = [...(encrypted ? [] : ["TLS"]), ...(authenticated ? [] : ["authentication"])].join(" and ");
  if (grpc.insecure) {
    return `grpc.insecure: listening on ${grpc.host} without ${missing}; anyone who can reach it can run commands on this machine`;
  }
  throw new ConfigError(
    "grpc.host",
    grpc.host,
    "config",
    `expected a loopback address (127.0.0.1, ::1, localhost) without ${missing}: set tls.cert_file and tls.key_file, and auth.token_file or tls.client_ca_file (or grpc.insecure=true to accept the risk)`,
  );
}
