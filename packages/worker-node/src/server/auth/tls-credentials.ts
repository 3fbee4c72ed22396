import { readFile } from "node:fs/promises";
import { ServerCredentials } from "@grpc/grpc-js";
import { ConfigError } from "../../config/config-error.js";
import type { WorkerConfig } from "../../config/worker-config.js";

/**
 * The server's credentials from tls.*: plaintext when no certificate is set, TLS with cert_file and
 * key_file, and mTLS when client_ca_file is set too (grpc-js then refuses, in the handshake, a client
 * without a certificate that CA signed).
 */
export async function serverCredentials(tls: WorkerConfig["tls"]): Promise<ServerCredentials> {
  const { certFile, keyFile, clientCaFile } = tls;
  if (certFile === "" && keyFile === "") {
    if (clientCaFile !== "")
      throw new ConfigError("tls.client_ca_file", clientCaFile, "config", "expected with tls.cert_file and tls.key_file (mTLS needs TLS)");
    return ServerCredentials.createInsecure();
  }
  if (certFile === "") throw new ConfigError("tls.cert_file", certFile, "config", "expected a certificate file with tls.key_file");
  if (keyFile === "") throw new ConfigError("tls.key_file", keyFile, "config", "expected a private key file with tls.cert_file");
  const [certChain, privateKey, clientCa] = await Promise.all([
    readPem("tls.cert_file", certFile),
    readPem("tls.key_file", keyFile),
    clientCaFile === "" ? null : readPem("tls.client_ca_file", clientCaFile),
  ]);
  try {
    return ServerCredentials.createSsl(clientCa, [{ cert_chain: certChain, private_key: privateKey }], clientCa !== null);
  } catch (error) {
    throw new ConfigError("tls.cert_file", certFile, "config", `expected PEM files grpc-js accepts: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function readPem(key: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new ConfigError(key, path, "config", `expected a readable PEM file (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`, {
      cause: error,
    });
  }
}
