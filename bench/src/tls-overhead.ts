/**
 * (j) What remote readiness costs: a worker behind TLS that asks every call for a bearer token,
 * against a plaintext worker without auth (both the process driver, the rest alike): trivial job
 * latency through client.run() and stdout throughput through events(), in blocks that alternate
 * between the two. Then the token check alone, the worker's own Authenticator from its build.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Metadata } from "@grpc/grpc-js";
import type { WorkerClient } from "@opencode-worker/master-client";
// From the build: the check the server runs, not a copy of it (the package exports no auth internals).
import { Authenticator } from "../../packages/worker-node/dist/server/auth/authenticate.js";
import { TokenFile } from "../../packages/worker-node/dist/server/auth/token-file.js";
import { createLogger } from "../../packages/worker-node/dist/logging/logger.js";
import { TRIVIAL_JOB } from "./latency.js";
import type { BenchOptions } from "./options.js";
import { streamThroughWorker } from "./output.js";
import { round } from "./report.js";
import { type LatencyStats, summarize } from "./stats.js";
import { timeEach } from "./timing.js";
import { type WorkerFlags, WorkerProcess } from "./worker-process.js";

const run = promisify(execFile);

/** Bytes one stream job prints, per block. */
export const STREAM_BYTES = 32 * 1024 ** 2;
/** Identities in the token file of the micro-benchmark: the check compares the token with every one. */
export const TOKEN_IDENTITIES = 100;
export const AUTH_CHECKS = 10_000;

interface Side {
  latency: LatencyStats;
  /** MiB per second through events(), over every stream block. */
  streamMiBPerSecond: number;
}

export interface TlsOverhead {
  secured: Side;
  plaintext: Side;
  authCheck: { checks: number; identities: number; microsecondsPerCheck: number };
}

export async function compareTlsOverhead(
  flags: WorkerFlags,
  options: Pick<BenchOptions, "warmupJobs" | "latencyJobs" | "rounds" | "cpuProfileDir">,
): Promise<TlsOverhead> {
  const dir = await mkdtemp(join(tmpdir(), "opencode-bench-tls-"));
  const workers: WorkerProcess[] = [];
  try {
    const { certFile, keyFile } = await selfSignedCertificate(dir);
    const token = randomBytes(24).toString("base64url");
    const tokenFile = join(dir, "tokens");
    await writeFile(tokenFile, tokenFileText(token));
    const profile = options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {};
    const plaintext = await WorkerProcess.start("j-plaintext", flags, profile);
    workers.push(plaintext);
    const secured = await WorkerProcess.start(
      "j-tls",
      { ...flags, "tls.cert_file": certFile, "tls.key_file": keyFile, "auth.token_file": tokenFile },
      { ...profile, client: { tls: { ca: await readFile(certFile) }, token } },
    );
    workers.push(secured);
    const sides = await measureSides(secured.client, plaintext.client, options);
    return { ...sides, authCheck: await measureAuthCheck(tokenFile, token) };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureSides(
  secured: WorkerClient,
  plaintext: WorkerClient,
  options: Pick<BenchOptions, "warmupJobs" | "latencyJobs" | "rounds">,
): Promise<{ secured: Side; plaintext: Side }> {
  const clients = { secured, plaintext };
  const samples = { secured: [] as number[], plaintext: [] as number[] };
  const streamMs = { secured: 0, plaintext: 0 };
  for (const client of Object.values(clients)) {
    await timeEach(options.warmupJobs, () => client.run(TRIVIAL_JOB));
    await streamThroughWorker(client, STREAM_BYTES);
  }
  const block = Math.ceil(options.latencyJobs / options.rounds);
  for (let done = 0; done < options.latencyJobs; done += block) {
    const size = Math.min(block, options.latencyJobs - done);
    for (const side of ["plaintext", "secured"] as const) {
      samples[side].push(...(await timeEach(size, () => clients[side].run(TRIVIAL_JOB))));
      const [ms] = await timeEach(1, () => streamThroughWorker(clients[side], STREAM_BYTES));
      streamMs[side] += ms!;
    }
  }
  const blocks = Math.ceil(options.latencyJobs / block);
  const side = (name: keyof typeof clients): Side => ({
    latency: summarize(samples[name]),
    streamMiBPerSecond: round((blocks * STREAM_BYTES) / 1024 ** 2 / (streamMs[name] / 1000), 1),
  });
  return { secured: side("secured"), plaintext: side("plaintext") };
}

/** The worker's Authenticator over a file of TOKEN_IDENTITIES identities, fed the last one's token. */
async function measureAuthCheck(tokenFile: string, token: string): Promise<TlsOverhead["authCheck"]> {
  const tokens = await TokenFile.open(tokenFile, createLogger({ level: "silent", pretty: false }));
  const authenticator = new Authenticator({ tokens, clientCertificates: false, admins: [] });
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  const call = { metadata, getAuthContext: () => ({}) };
  const check = (): void => {
    if (authenticator.caller(call).identity !== "bench") throw new Error("the token check did not name the bench's identity");
  };
  for (let i = 0; i < 1000; i++) check();
  const start = performance.now();
  for (let i = 0; i < AUTH_CHECKS; i++) check();
  const microseconds = (performance.now() - start) * 1000;
  return { checks: AUTH_CHECKS, identities: TOKEN_IDENTITIES, microsecondsPerCheck: round(microseconds / AUTH_CHECKS, 2) };
}

/** TOKEN_IDENTITIES - 1 other identities, then the bench's own, as `<identity> sha256:<hex>` lines. */
function tokenFileText(token: string): string {
  const line = (identity: string, secret: string): string => `${identity} sha256:${createHash("sha256").update(secret).digest("hex")}\n`;
  const others = Array.from({ length: TOKEN_IDENTITIES - 1 }, (_, i) => line(`caller-${i}`, randomBytes(24).toString("base64url")));
  return others.join("") + line("bench", token);
}

/** A P-256 server certificate for 127.0.0.1 that is its own CA, made with openssl at bench time. */
async function selfSignedCertificate(dir: string): Promise<{ certFile: string; keyFile: string }> {
  const [certFile, keyFile] = [join(dir, "server.crt"), join(dir, "server.key")];
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyFile, "-out", certFile,
    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
  ]); // prettier-ignore
  return { certFile, keyFile };
}
