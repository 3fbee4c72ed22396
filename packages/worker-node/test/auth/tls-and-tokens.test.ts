import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, InterceptingCall, status, type Interceptor } from "@grpc/grpc-js";
import { WorkerClient, type WorkerClientError, type WorkerClientOptions } from "@opencode-worker/master-client";
import { ConfigError, startWorker, type WorkerConfigOverrides } from "@opencode-worker/worker-node";
import { eventually, startTestWorker, type TestWorker } from "../harness.js";
import { HealthClient } from "../health-client.js";
import { selfSigned, signedBy, tokenLine, type Pem } from "../support/certificates.js";

/*
 * A worker meant for the network: TLS with a token file, and mTLS with a client CA. Real certificates
 * made by openssl, real clients (the SDK, and grpc-js for health); nothing is mocked.
 */
let dir: string;
let server: Pem;
let clientCa: Pem;
let alice: Pem;
let bob: Pem;
let impostor: Pem;
let tokenFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ocw-tls-"));
  server = await selfSigned(dir, "server", "localhost");
  clientCa = await selfSigned(dir, "client-ca", "client-ca");
  alice = await signedBy(clientCa, dir, "alice", "alice");
  bob = await signedBy(clientCa, dir, "bob", "bob");
  // Same CN as alice, but signed by a CA the worker does not trust.
  impostor = await signedBy(await selfSigned(dir, "rogue-ca", "rogue-ca"), dir, "impostor", "alice");
  tokenFile = join(dir, "tokens");
  await writeFile(tokenFile, `# identity sha256:hex\n${tokenLine("alice", "alice-token")}`);
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A client that must fail: the error of its first call, with a short deadline for a refused handshake. */
async function refusal(address: string, options: Omit<WorkerClientOptions, "address">): Promise<WorkerClientError> {
  const client = WorkerClient.lazy({ ...options, address, requestTimeoutMs: 3000, retry: { maxAttempts: 1 } });
  try {
    await client.listSessions();
    throw new Error("the call was accepted");
  } catch (error) {
    return error as WorkerClientError;
  } finally {
    client.close();
  }
}

/** Sends `authorization: <value>` as it is, for schemes the SDK's `token` never sends. */
function header(value: string): Interceptor {
  return (options, next) =>
    new InterceptingCall(next(options), {
      start(metadata, listener, nextStart) {
        metadata.set("authorization", value);
        nextStart(metadata, listener);
      },
    });
}

describe("TLS with a token file", () => {
  let t: TestWorker;
  beforeAll(async () => {
    t = await startTestWorker(
      { tls: { cert_file: server.certFile, key_file: server.keyFile }, auth: { token_file: tokenFile } },
      { client: { tls: { ca: server.cert }, token: "alice-token" } },
    );
  });
  afterAll(() => t.stop());

  it("runs a job for the SDK connected with tls and a token", async () => {
    const result = await t.client.run({ command: "echo over tls" });
    expect(result.stdout.toString()).toBe("over tls\n");
  });

  it("refuses a plaintext client, token or not", async () => {
    expect((await refusal(t.worker.address, { token: "alice-token" })).code).toBe("UNAVAILABLE");
  });

  it("answers a wrong and a missing token with the same UNAUTHENTICATED", async () => {
    const wrong = await refusal(t.worker.address, { tls: { ca: server.cert }, token: "not-a-token" });
    const missing = await refusal(t.worker.address, { tls: { ca: server.cert } });
    const otherScheme = await refusal(t.worker.address, { tls: { ca: server.cert }, interceptors: [header("Basic alice-token")] });
    for (const error of [wrong, missing, otherScheme]) {
      expect(error).toMatchObject({ grpcCode: status.UNAUTHENTICATED, reason: "UNAUTHENTICATED" });
      expect(error.message).toBe(wrong.message);
    }
  });

  it("keeps health open without a token", async () => {
    const health = new HealthClient(t.worker.address, credentials.createSsl(server.cert));
    try {
      expect(await health.status()).toBe("SERVING");
    } finally {
      health.close();
    }
  });

  it("takes a token added to the file without a restart", async () => {
    expect((await refusal(t.worker.address, { tls: { ca: server.cert }, token: "carol-token" })).code).toBe("PERMISSION_DENIED");
    await appendFile(tokenFile, tokenLine("carol", "carol-token"));
    const carol = WorkerClient.lazy({ address: t.worker.address, tls: { ca: server.cert }, token: "carol-token" });
    try {
      await eventually(
        () =>
          carol.listSessions().then(
            () => true,
            () => false,
          ),
        5000,
      );
    } finally {
      carol.close();
    }
  });
});

describe("mTLS: a client certificate signed by tls.client_ca_file", () => {
  let t: TestWorker;
  const tls = (pem: Pem) => ({ ca: server.cert, cert: pem.cert, key: pem.key });
  beforeAll(async () => {
    t = await startTestWorker(
      { tls: { cert_file: server.certFile, key_file: server.keyFile, client_ca_file: clientCa.certFile } },
      { client: { tls: tls(alice) } },
    );
  });
  afterAll(() => t.stop());

  it("names the caller by its certificate's CN: another certificate does not see alice's job", async () => {
    const handle = await t.client.dispatch({ command: "sleep 30" });
    const asBob = WorkerClient.lazy({ address: t.worker.address, tls: tls(bob) });
    try {
      expect((await t.client.listSessions()).map((session) => session.jobId)).toContain(handle.jobId);
      expect((await asBob.listSessions()).map((session) => session.jobId)).not.toContain(handle.jobId);
    } finally {
      asBob.close();
      await handle.cancel();
    }
  });

  it("refuses a client without a certificate", async () => {
    expect((await refusal(t.worker.address, { tls: { ca: server.cert } })).code).toBe("UNAVAILABLE");
  });

  it("refuses a certificate from another CA, whatever its CN", async () => {
    expect((await refusal(t.worker.address, { tls: tls(impostor) })).code).toBe("UNAVAILABLE");
  });
});

describe("start-up refuses incomplete TLS settings and an unusable token file", () => {
  const start = (overrides: WorkerConfigOverrides) =>
    startWorker({
      argv: [],
      env: {},
      cwd: dir,
      overrides: { grpc: { port: 0 }, session: { base_dir: join(dir, "sessions") }, ...overrides },
    });

  it.each([
    ["tls.key_file", { tls: { cert_file: "/nonexistent.crt" } }],
    ["tls.cert_file", { tls: { key_file: "/nonexistent.key" } }],
    ["tls.client_ca_file", { tls: { client_ca_file: "/nonexistent.pem" } }],
    ["tls.cert_file", { tls: { cert_file: "/nonexistent.crt", key_file: "/nonexistent.key" } }],
    ["auth.token_file", { auth: { token_file: "/nonexistent-tokens" } }],
  ])("names %s", async (key, overrides) => {
    const error = await start(overrides).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
  });

  it("names the bad line of a token file", async () => {
    const bad = join(dir, "bad-tokens");
    await writeFile(bad, `${tokenLine("alice", "x")}alice plaintext-token\n`);
    await expect(start({ auth: { token_file: bad } })).rejects.toThrow(/line 2/);
  });
});
