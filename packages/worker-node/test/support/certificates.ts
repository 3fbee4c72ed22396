import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
/** P-256 keys: as good as RSA here, and generated in milliseconds. */
const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

export interface Pem {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

/** A self-signed certificate (a CA, or a server certificate for 127.0.0.1 that is its own CA), made with openssl. */
export async function selfSigned(dir: string, name: string, commonName: string): Promise<Pem> {
  const [certFile, keyFile] = [join(dir, `${name}.crt`), join(dir, `${name}.key`)];
  await run("openssl", [
    "req", "-x509", ...KEY, "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", `/CN=${commonName}`,
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ]); // prettier-ignore
  return { certFile, keyFile, cert: await readFile(certFile), key: await readFile(keyFile) };
}

/** A client certificate with subject CN=`commonName`, signed by `ca`. */
export async function signedBy(ca: Pem, dir: string, name: string, commonName: string): Promise<Pem> {
  const [certFile, keyFile, csrFile] = [join(dir, `${name}.crt`), join(dir, `${name}.key`), join(dir, `${name}.csr`)];
  await run("openssl", ["req", "-new", ...KEY, "-keyout", keyFile, "-out", csrFile, "-subj", `/CN=${commonName}`]);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csrFile,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-CAcreateserial",
    "-out",
    certFile,
    "-days",
    "1",
  ]);
  return { certFile, keyFile, cert: await readFile(certFile), key: await readFile(keyFile) };
}

/** A line of auth.token_file for `token`. */
export function tokenLine(identity: string, token: string): string {
  return `${identity} sha256:${createHash("sha256").update(token).digest("hex")}\n`;
}
