import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { fileURLToPath } from "node:url";
import { Client, credentials } from "@grpc/grpc-js";
import { loadSync, type ServiceDefinition } from "@grpc/proto-loader";
import { startTestWorker, type TestWorker } from "./harness.js";
import { rawCall } from "./support/raw-call.js";
import { varint } from "./support/protobuf-bytes.js";

/*
 * Requests as raw protobuf bytes, written here by hand, from a plain grpc-js client: 64-bit values no
 * JavaScript number holds, and bytes that are no message at all. Each must be INVALID_ARGUMENT
 * (naming the field when there is one), never INTERNAL, and the worker must go on serving.
 */
const INVALID_ARGUMENT = 3;
const PACKAGE = "opencode.worker.v1";
const SERVICE = `${PACKAGE}.WorkerService`;
/** The contract as the .proto files define it, read independently of the generated code. */
const CONTRACT = loadSync("opencode/worker/v1/worker_service.proto", {
  includeDirs: [fileURLToPath(new URL("../../../proto", import.meta.url))],
  keepCase: true,
});
const RPCS = CONTRACT[SERVICE] as ServiceDefinition;

// ---- protobuf by hand ----
const varintField = (number: number, value: bigint) => Buffer.concat([varint(BigInt(number << 3)), varint(value)]);
const bytesField = (number: number, payload: Buffer | string) => {
  const bytes = Buffer.from(payload);
  return Buffer.concat([varint(BigInt((number << 3) | 2)), varint(BigInt(bytes.length)), bytes]);
};

// JobSpec { command = 2; limits = 9 }, DispatchRequest { spec = 1 }, StreamJobRequest { spec = 1; job_id = 2; after_seq = 3 }
const limitsField = (number: number) => (value: bigint) =>
  bytesField(1, Buffer.concat([bytesField(2, "true"), bytesField(9, varintField(number, value))]));
const JOB_LIMITS = {
  memory_bytes: 2,
  timeout_ms: 3,
  max_output_bytes: 4,
  max_disk_bytes: 6,
  idle_timeout_ms: 7,
  model_max_tokens: 9,
} as const;
// BlobDigest { sha256 = 1; size_bytes = 2 }; JobSpec { workspace = 12 }, Workspace { entries = 1 }, WorkspaceEntry { path = 1; digest = 2 }
const SHA256 = "0".repeat(64);
const digest = (size: bigint) => Buffer.concat([bytesField(1, SHA256), varintField(2, size)]);
const workspaceField = (value: bigint) =>
  bytesField(
    1,
    Buffer.concat([
      bytesField(2, "true"),
      bytesField(12, bytesField(1, Buffer.concat([bytesField(1, "a.txt"), bytesField(2, digest(value))]))),
    ]),
  );

/**
 * Every 64-bit field a request can carry, by RPC and path from the request message, with a request
 * that sets it and is valid otherwise, and the name the worker gives it (spec fields are named
 * relative to the spec, as everywhere).
 */
const CASES: Array<{ rpc: string; path: string; named: string; request: (value: bigint) => Buffer }> = [
  ...Object.entries(JOB_LIMITS).flatMap(([name, number]) =>
    ["Dispatch", "StreamJob"].map((rpc) => ({ rpc, path: `spec.limits.${name}`, named: `limits.${name}`, request: limitsField(number) })),
  ),
  ...["Dispatch", "StreamJob"].map((rpc) => ({
    rpc,
    path: "spec.workspace.entries.digest.size_bytes",
    named: "workspace.entries[0].digest.size_bytes",
    request: workspaceField,
  })),
  { rpc: "FindMissingBlobs", path: "blobs.size_bytes", named: "blobs[0].size_bytes", request: (value) => bytesField(1, digest(value)) },
  { rpc: "ReadBlob", path: "digest.size_bytes", named: "digest.size_bytes", request: (value) => bytesField(1, digest(value)) },
  {
    rpc: "ReadBlob",
    path: "offset",
    named: "offset",
    request: (value) => Buffer.concat([bytesField(1, digest(1n)), varintField(2, value)]),
  },
  {
    rpc: "UploadBlobs",
    path: "digest.size_bytes",
    named: "digest.size_bytes",
    request: (value) => Buffer.concat([bytesField(1, digest(value)), bytesField(3, "x")]),
  },
  {
    rpc: "UploadBlobs",
    path: "offset",
    named: "offset",
    request: (value) => Buffer.concat([bytesField(1, digest(1n)), varintField(2, value), bytesField(3, "x")]),
  },
  {
    rpc: "StreamJob",
    path: "after_seq",
    named: "after_seq",
    request: (value) => Buffer.concat([bytesField(2, "some-job"), varintField(3, value)]),
  },
  {
    rpc: "ReadArtifact",
    path: "offset",
    named: "offset",
    request: (value) => Buffer.concat([bytesField(1, "some-job"), bytesField(2, "a.txt"), varintField(3, value)]),
  },
  {
    rpc: "ReadArtifact",
    path: "length",
    named: "length",
    request: (value) => Buffer.concat([bytesField(1, "some-job"), bytesField(2, "a.txt"), varintField(4, value)]),
  },
  {
    rpc: "ReadOutput",
    path: "offset",
    named: "offset",
    request: (value) => Buffer.concat([bytesField(1, "some-job"), varintField(2, 1n), varintField(3, value)]),
  },
];

/** The 64-bit fields reachable from each RPC's request, read from the proto itself. */
function int64RequestFields(): string[] {
  type Descriptor = { field: Array<{ name: string; type: string; typeName: string }>; nestedType: Descriptor[]; name: string };
  const messageOf = (typeName: string, parent: Descriptor): Descriptor =>
    parent.nestedType.find((nested) => nested.name === typeName) ??
    ((CONTRACT[`${PACKAGE}.${typeName}`] as { type: unknown }).type as Descriptor);
  const walk = (message: Descriptor, prefix: string): string[] =>
    message.field.flatMap((field) => {
      if (field.type === "TYPE_MESSAGE") return walk(messageOf(field.typeName, message), `${prefix}${field.name}.`);
      return /^TYPE_(U|S)?(INT|FIXED)64$/.test(field.type) ? [`${prefix}${field.name}`] : [];
    });
  return Object.entries(RPCS).flatMap(([rpc, method]) => walk(method.requestType.type as Descriptor, "").map((path) => `${rpc} ${path}`));
}

let t: TestWorker;
/** A plain grpc-js client with default options that sends bytes as they are. */
let raw: Client;
beforeAll(async () => {
  t = await startTestWorker();
  raw = new Client(t.worker.address, credentials.createInsecure());
});
afterAll(async () => {
  raw.close();
  await t.stop();
});

/** Sends `bytes` as the request of `rpc` and returns the status it ends with. */
const send = (rpc: string, bytes: Buffer) => rawCall(raw, rpc, bytes);

describe("64-bit request fields beyond JavaScript's safe integers", () => {
  it("are every 64-bit field of every request message", () => {
    expect(CASES.map(({ rpc, path }) => `${rpc} ${path}`).sort()).toEqual(int64RequestFields().sort());
  });

  it.each(
    CASES.flatMap((entry) =>
      [2n ** 64n - 1n, 2n ** 53n + 1n].map((value) => [`${entry.rpc} ${entry.path} = ${value}`, entry, value] as const),
    ),
  )("%s is INVALID_ARGUMENT naming the field and the value", async (_name, { rpc, named, request }, value) => {
    const { code, details } = await send(rpc, request(value));
    expect({ code, field: details.split(":")[0] }).toEqual({ code: INVALID_ARGUMENT, field: named });
    expect(details).toContain(String(value));
  });
});

describe("bytes that are not a request message", () => {
  const MALFORMED: Array<[string, Buffer]> = [
    ["a truncated varint", Buffer.from([0x08, 0xff])],
    ["a length past the end", Buffer.from([0x0a, 0x05, 0x61])],
    ["wire type 7", Buffer.from([0x0f])],
  ];

  it.each(Object.keys(RPCS).flatMap((rpc) => MALFORMED.map(([what, bytes]) => [`${rpc} with ${what}`, rpc, bytes] as const)))(
    "%s is INVALID_ARGUMENT",
    async (_name, rpc, bytes) => {
      const { code, details } = await send(rpc, bytes);
      expect({ code, field: details.split(":")[0] }).toEqual({ code: INVALID_ARGUMENT, field: "request" });
    },
  );

  it("leave the worker serving", async () => {
    const result = await t.client.run({ command: "echo still serving", limits: { timeoutMs: 30_000 } });
    expect(result.stdoutText).toBe("still serving\n");
  });
});

describe("caller text echoed in a status", () => {
  // Found by fuzz.test.ts (seed 1145626665, case 46): a 34 KB job_id came back whole in grpc-message and the
  // details trailer, past the client's header limit, and every later call on that connection stalled.
  it("is cut, so a 100,000-character job_id is NOT_FOUND and the connection goes on serving", async () => {
    const jobId = "\u00e9".repeat(100_000);
    const { code, details } = await rawCall(raw, "Status", bytesField(1, jobId), 5_000);
    expect({ code, cut: details.length < 2_000 }).toEqual({ code: 5, cut: true });
    expect(details).toContain("more characters)");
    expect((await rawCall(raw, "GetMetrics", Buffer.alloc(0), 5_000)).code).toBe(0);
  });
});
