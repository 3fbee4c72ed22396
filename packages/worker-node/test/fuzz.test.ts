import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, credentials, status } from "@grpc/grpc-js";
import {
  CancelRequest,
  CollectRequest,
  CollectResponse,
  DispatchRequest,
  FindMissingBlobsRequest,
  GetMetricsRequest,
  JobState,
  ListSessionsRequest,
  ListSessionsResponse,
  NetworkPolicy,
  OutputStream,
  ReadArtifactRequest,
  ReadBlobRequest,
  ReadOutputRequest,
  StatusRequest,
  StreamJobRequest,
  UploadBlobsRequest,
  type JobSpec,
} from "@opencode-worker/shared";
import { startBinWorker, type BinWorker } from "./bin-harness.js";
import { HealthClient } from "./health-client.js";
import { freeUidBase } from "./isolation/sandbox-harness.js";
import { describeSandbox } from "./support/conditions.js";
import { rawCall, type RawOutcome } from "./support/raw-call.js";
import { varint } from "./support/protobuf-bytes.js";

/*
 * Malformed protobuf to every RPC of a real worker process, for a bounded time: valid requests
 * (encoded by the generated code) parsed into a field tree, mutated (wrong wire types, huge length
 * prefixes, truncated varints, deep nesting, duplicate map keys, non-UTF-8 strings, unknown fields
 * of every wire type, extreme values, byte flips), and sent as raw bytes. Every call must end with
 * a status the caller can act on (never INTERNAL or UNKNOWN) within its deadline, and the worker
 * must stay up, healthy and within its memory bound. FUZZ_SEED repeats a run; FUZZ_MS sets its length.
 */

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const BUDGET_MS = Number(process.env.FUZZ_MS ?? 15_000);
/** FUZZ_CASES=45,46 (with the FUZZ_SEED that found them) replays only those cases, one at a time. */
const REPLAY = process.env.FUZZ_CASES?.split(",").map(Number);
/** A call that has no status by then hangs. */
const CALL_DEADLINE_MS = 8_000;
const IN_FLIGHT = 8;
const RECEIVE_LIMIT = 4 * 1024 ** 2;
const MAX_RSS_BYTES = 300 * 1024 ** 2;
/** What a caller can be answered for any bytes it sends: INTERNAL, UNKNOWN or a deadline (a hang) are bugs. */
const EXPECTED = new Set<number>([
  status.OK,
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.PERMISSION_DENIED,
  status.RESOURCE_EXHAUSTED,
  status.FAILED_PRECONDITION,
  status.UNAUTHENTICATED,
]);
/** A finished job with output and an artifact, so reads of it get past the lookup. */
const DONE_JOB = "fuzz-done";

// ---- a seeded PRNG (mulberry32) ----
class Random {
  constructor(readonly next: () => number) {}
  static seeded(seed: number): Random {
    let state = seed >>> 0;
    return new Random(() => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    });
  }
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(256)));
  }
}

// ---- the wire format as a tree ----
type Kind = "string" | "bytes" | "varint" | "double" | Schema;
interface Schema {
  [field: number]: Kind;
}
/** A field as sent. Wire type -1 is raw bytes appended as they are (deep nesting, stray tags). */
interface Field {
  no: number;
  wt: number;
  value: bigint | Buffer | Field[];
  /** A length prefix other than the payload's (wire type 2). */
  length?: bigint;
}

const LIMITS: Schema = { 1: "double", 2: "varint", 3: "varint", 4: "varint", 5: "varint", 6: "varint", 7: "varint" };
const CONFIG: Schema = { 1: "string", 2: "string", 3: "string", 4: "varint", 5: "varint" };
const mapEntry = (value: Kind): Schema => ({ 1: "string", 2: value });
const DIGEST: Schema = { 1: "string", 2: "varint" };
const WORKSPACE: Schema = { 1: { 1: "string", 2: DIGEST, 3: "varint", 4: "string" }, 2: "string" };
const SPEC: Schema = {
  1: "string",
  2: "string",
  3: "string",
  4: mapEntry("bytes"),
  5: mapEntry("varint"),
  6: mapEntry("string"),
  7: "string",
  8: "bytes",
  9: LIMITS,
  10: CONFIG,
  11: "string",
  12: WORKSPACE,
};

const tag = (no: number, wt: number): Buffer => varint((BigInt(no) << 3n) | BigInt(wt));

/** Parses what the generated encoders wrote (wire types 0, 1, 2, 5), descending into the message fields of `schema`. */
function parse(bytes: Uint8Array, schema: Schema): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  const readVarint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = bytes[pos++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
  };
  while (pos < bytes.length) {
    const key = readVarint();
    const no = Number(key >> 3n);
    const wt = Number(key & 7n);
    if (wt === 0) fields.push({ no, wt, value: readVarint() });
    else {
      const length = wt === 1 ? 8 : wt === 5 ? 4 : Number(readVarint());
      const payload = bytes.subarray(pos, pos + length);
      pos += length;
      const kind = schema[no];
      fields.push({ no, wt, value: typeof kind === "object" ? parse(payload, kind) : Buffer.from(payload) });
    }
  }
  return fields;
}

function encode(fields: Field[]): Buffer {
  return Buffer.concat(
    fields.map(({ no, wt, value, length }) => {
      if (wt === -1) return value as Buffer;
      if (typeof value === "bigint") return Buffer.concat([tag(no, wt), varint(value)]);
      const payload = Array.isArray(value) ? encode(value) : value;
      if (wt === 3) return Buffer.concat([tag(no, 3), payload, tag(no, 4)]);
      if (wt !== 2) return Buffer.concat([tag(no, wt), payload]);
      return Buffer.concat([tag(no, 2), varint(length ?? BigInt(payload.length)), payload]);
    }),
  );
}

/** Every field with the list holding it and what the schema says it is. */
interface Site {
  list: Field[];
  field: Field;
  kind: Kind | undefined;
}
function sites(list: Field[], schema: Schema): Site[] {
  return list.flatMap((field) => {
    const kind = schema[field.no];
    const here = { list, field, kind };
    return typeof kind === "object" && Array.isArray(field.value) ? [here, ...sites(field.value, kind)] : [here];
  });
}
/** Every message (the request itself and each nested one) with its schema. */
function messages(list: Field[], schema: Schema): Array<{ list: Field[]; schema: Schema }> {
  return [
    { list, schema },
    ...list.flatMap((field) => {
      const kind = schema[field.no];
      return typeof kind === "object" && Array.isArray(field.value) ? messages(field.value, kind) : [];
    }),
  ];
}

// ---- valid requests, from the generated encoders ----
function spec(r: Random): JobSpec {
  return {
    jobId: r.chance(0.5) ? "" : `fuzz-${r.int(1e9)}`,
    command: "true",
    argv: [],
    files: new Map([
      ["in/a.txt", Buffer.from("alpha")],
      ["b.txt", Buffer.from("beta")],
    ]),
    fileModes: new Map([["b.txt", 0o755]]),
    env: new Map([
      ["FUZZ_A", "1"],
      ["FUZZ_B", "two"],
    ]),
    cwd: r.chance(0.5) ? "" : "in",
    stdin: Buffer.from("input"),
    limits: {
      cpu: 0.5,
      memoryBytes: String(128 * 1024 ** 2),
      timeoutMs: "2000",
      maxOutputBytes: "65536",
      maxPids: 64,
      maxDiskBytes: String(16 * 1024 ** 2),
      idleTimeoutMs: "2000",
    },
    config: { mode: "fuzz", provider: "p", model: "m", network: NetworkPolicy.NETWORK_POLICY_RESTRICTED, telemetry: r.chance(0.5) },
    artifacts: ["*.txt"],
    workspace: {
      entries: [
        { path: "ws/c.txt", digest: BLOB_DIGEST, mode: 0o644, symlinkTarget: "" },
        { path: "ws/link", digest: undefined, mode: 0, symlinkTarget: "c.txt" },
      ],
      remoteOnly: ["node_modules/**"],
    },
  };
}
/** A blob uploaded before the run, so a workspace naming it and reads of it get past the store's lookup. */
const BLOB = Buffer.from("fuzz blob content\n");
const BLOB_DIGEST = { sha256: createHash("sha256").update(BLOB).digest("hex"), sizeBytes: String(BLOB.length) };
const jobId = (r: Random): string => (r.chance(0.8) ? DONE_JOB : r.pick(["fuzz-missing", "01a22e51-44fa-7000-8000-000000000000", ""]));
const stream = (r: Random): OutputStream => (r.chance(0.5) ? OutputStream.OUTPUT_STREAM_STDOUT : OutputStream.OUTPUT_STREAM_STDERR);

/** Each RPC: its request's schema and a valid request (with r always choosing the first option, the one the checks below expect OK for). */
const RPCS: Record<string, { schema: Schema; valid: (r: Random) => Uint8Array }> = {
  Dispatch: { schema: { 1: SPEC }, valid: (r) => DispatchRequest.encode({ spec: spec(r) }).finish() },
  Status: { schema: { 1: "string" }, valid: (r) => StatusRequest.encode({ jobId: jobId(r) }).finish() },
  Collect: { schema: { 1: "string", 2: "varint" }, valid: (r) => CollectRequest.encode({ jobId: jobId(r), wait: r.chance(0.5) }).finish() },
  Cancel: { schema: { 1: "string", 2: "string" }, valid: (r) => CancelRequest.encode({ jobId: jobId(r), reason: "fuzz" }).finish() },
  StreamJob: {
    schema: { 1: SPEC, 2: "string", 3: "varint" },
    valid: (r) =>
      StreamJobRequest.encode({
        target: r.chance(0.7) ? { $case: "jobId", value: jobId(r) } : { $case: "spec", value: spec(r) },
        afterSeq: String(r.int(4)),
      }).finish(),
  },
  ListSessions: { schema: {}, valid: () => ListSessionsRequest.encode({}).finish() },
  GetMetrics: { schema: {}, valid: () => GetMetricsRequest.encode({}).finish() },
  ReadArtifact: {
    schema: { 1: "string", 2: "string", 3: "varint", 4: "varint" },
    valid: (r) =>
      ReadArtifactRequest.encode({
        jobId: jobId(r),
        path: r.chance(0.8) ? "a.txt" : "b.txt",
        offset: String(r.int(3)),
        length: String(r.int(3)),
      }).finish(),
  },
  ReadOutput: {
    schema: { 1: "string", 2: "varint", 3: "varint" },
    valid: (r) => ReadOutputRequest.encode({ jobId: jobId(r), stream: stream(r), offset: String(r.int(3)) }).finish(),
  },
  FindMissingBlobs: { schema: { 1: DIGEST }, valid: () => FindMissingBlobsRequest.encode({ blobs: [BLOB_DIGEST] }).finish() },
  // One message of the client stream: the whole blob.
  UploadBlobs: {
    schema: { 1: DIGEST, 2: "varint", 3: "bytes" },
    valid: () => UploadBlobsRequest.encode({ digest: BLOB_DIGEST, offset: "0", data: BLOB }).finish(),
  },
  ReadBlob: {
    schema: { 1: DIGEST, 2: "varint" },
    valid: (r) => ReadBlobRequest.encode({ digest: BLOB_DIGEST, offset: String(r.int(3)) }).finish(),
  },
};

// ---- mutations ----
const NOT_UTF8 = [[0xff, 0xfe], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe2, 0x82], [0x00]];
const EXTREME_VARINTS = [0n, 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 70n];
const EXTREME_DOUBLES = [NaN, Infinity, -Infinity, -0, -1, 1e308, 5e-324];

function randomValue(r: Random, wt: number): Field["value"] {
  if (wt === 0) return r.pick(EXTREME_VARINTS) + BigInt(r.int(3));
  if (wt === 1) return r.bytes(8);
  if (wt === 5) return r.bytes(4);
  if (wt === 3) return r.chance(0.5) ? [] : [{ no: 1 + r.int(20), wt: 0, value: BigInt(r.int(300)) }];
  return r.bytes(r.int(12));
}
function unknownField(r: Random): Field {
  const no = r.pick([12, 15, 16, 99, 1000, 2 ** 29 - 1, 1 + r.int(2 ** 29 - 1), 0]);
  const wt = r.int(8);
  // A stray end-group tag and the reserved wire types 6 and 7 are a tag alone.
  if (wt === 4 || wt > 5) return { no: 0, wt: -1, value: tag(no, wt) };
  return { no, wt, value: randomValue(r, wt) };
}
/** `depth` levels of one field, inside out (wire type 2 or a group), built without recursion. */
function deeplyNested(r: Random, depth: number): Field {
  const no = r.pick([1, 4, 9, 10, 15]);
  if (r.chance(0.5)) {
    const open = tag(no, 3);
    const close = r.chance(0.8) ? tag(no, 4) : Buffer.alloc(0);
    return { no: 0, wt: -1, value: Buffer.concat([Buffer.concat(Array(depth).fill(open)), Buffer.concat(Array(depth).fill(close))]) };
  }
  const parts: Buffer[] = [];
  let length = 0;
  for (let level = 0; level < depth; level++) {
    const prefix = Buffer.concat([tag(no, 2), varint(BigInt(length))]);
    parts.push(prefix);
    length += prefix.length;
  }
  return { no: 0, wt: -1, value: Buffer.concat(parts.reverse()) };
}

type TreeMutation = (r: Random, root: Field[], schema: Schema) => void;
const TREE_MUTATIONS: Record<string, TreeMutation> = {
  wrongWireType(r, root, schema) {
    const site = r.pick(sites(root, schema));
    if (!site) return;
    const wt = r.pick([0, 1, 2, 3, 5].filter((candidate) => candidate !== site.field.wt));
    Object.assign(site.field, { wt, value: randomValue(r, wt), length: undefined });
  },
  hugeLength(r, root, schema) {
    const delimited = sites(root, schema).filter((site) => site.field.wt === 2);
    const field = delimited.length > 0 ? r.pick(delimited).field : { no: 1 + r.int(16), wt: 2, value: r.bytes(4) };
    if (delimited.length === 0) root.push(field);
    const size = BigInt(Array.isArray(field.value) ? encode(field.value).length : (field.value as Buffer).length);
    field.length = r.pick([
      size + 1n + BigInt(r.int(100)),
      2n ** 31n,
      2n ** 31n + BigInt(r.int(1000)),
      2n ** 32n - 1n,
      2n ** 35n,
      2n ** 64n - 1n,
    ]);
  },
  deepNesting(r, root, schema) {
    const { list } = r.pick(messages(root, schema));
    list.splice(r.int(list.length + 1), 0, deeplyNested(r, 10_000));
  },
  duplicateMapKey(r, root, schema) {
    const specs = messages(root, schema).filter((message) => message.schema === SPEC);
    if (specs.length === 0) return;
    const { list } = r.pick(specs);
    const no = r.pick([4, 5, 6]);
    const entries = list.filter((field) => field.no === no && Array.isArray(field.value));
    const key = entries.length > 0 ? (r.pick(entries).value as Field[]).find((field) => field.no === 1) : undefined;
    const keyField = key ?? { no: 1, wt: 2, value: Buffer.from("dup.txt") };
    const value = (): Field => (no === 5 ? { no: 2, wt: 0, value: BigInt(r.int(0o1000)) } : { no: 2, wt: 2, value: r.bytes(1 + r.int(8)) });
    const entry = r.pick<Field[]>([
      [keyField, value()],
      [keyField, value(), keyField, value()], // the key twice inside one entry
      [value()], // no key
      [keyField], // no value
      [value(), keyField], // value before key
    ]);
    list.push({ no, wt: 2, value: entry });
    if (!key) list.push({ no, wt: 2, value: [keyField, value()] });
  },
  notUtf8(r, root, schema) {
    const strings = sites(root, schema).filter((site) => site.kind === "string" && Buffer.isBuffer(site.field.value));
    if (strings.length === 0) return;
    const { field } = r.pick(strings);
    const text = field.value as Buffer;
    const at = r.int(text.length + 1);
    field.value = Buffer.concat([text.subarray(0, at), Buffer.from(r.pick(NOT_UTF8)), text.subarray(at)]);
  },
  unknownField(r, root, schema) {
    const { list } = r.pick(messages(root, schema));
    list.splice(r.int(list.length + 1), 0, unknownField(r));
  },
  repeatField(r, root, schema) {
    const site = r.pick(sites(root, schema));
    if (!site) return;
    site.list.push({
      ...site.field,
      value: typeof site.field.value === "bigint" ? r.pick(EXTREME_VARINTS) : randomValue(r, site.field.wt),
    });
  },
  extremeValue(r, root, schema) {
    const numbers = sites(root, schema).filter((site) => site.kind === "varint" || site.kind === "double");
    if (numbers.length === 0) return void root.push({ no: 1 + r.int(16), wt: 0, value: r.pick(EXTREME_VARINTS) });
    const { field, kind } = r.pick(numbers);
    if (kind === "varint") field.value = r.pick(EXTREME_VARINTS);
    else {
      field.value = Buffer.alloc(8);
      field.value.writeDoubleLE(r.pick(EXTREME_DOUBLES));
    }
  },
  dropField(r, root, schema) {
    const site = r.pick(sites(root, schema));
    if (site) site.list.splice(site.list.indexOf(site.field), 1);
  },
};

type ByteMutation = (r: Random, bytes: Buffer) => Buffer;
const BYTE_MUTATIONS: Record<string, ByteMutation> = {
  truncatedVarint: (r, bytes) =>
    r.chance(0.5)
      ? Buffer.concat([bytes, Buffer.from([0x80 | r.int(128)])])
      : Buffer.concat([bytes, tag(1 + r.int(15), 0), Buffer.alloc(1 + r.int(10), 0xff)]),
  truncate: (r, bytes) => bytes.subarray(0, r.int(bytes.length)),
  flip(r, bytes) {
    const copy = Buffer.from(bytes);
    for (let n = 1 + r.int(4); n > 0 && copy.length > 0; n--) {
      const at = r.int(copy.length);
      copy[at] = copy[at]! ^ (1 << r.int(8));
    }
    return copy;
  },
  insert(r, bytes) {
    const at = r.int(bytes.length + 1);
    return Buffer.concat([bytes.subarray(0, at), r.bytes(1 + r.int(4)), bytes.subarray(at)]);
  },
  delete(r, bytes) {
    const at = r.int(bytes.length + 1);
    return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + r.int(4))]);
  },
};

/** Case `index` of the run: the same seed and index always give the same RPC and bytes. */
function fuzzCase(index: number): { rpc: string; bytes: Buffer; how: string } {
  const names = Object.keys(RPCS);
  const rpc = names[index % names.length]!;
  const { schema, valid } = RPCS[rpc]!;
  const r = Random.seeded(SEED ^ Math.imul(index + 1, 0x9e3779b1));
  const roll = r.next();
  if (roll < 0.02) return { rpc, bytes: Buffer.alloc(0), how: "empty" };
  if (roll < 0.03) {
    // Near the receive limit (a spec's input file, or an unknown field), or just past it.
    const size = RECEIVE_LIMIT - 64 + (r.chance(0.7) ? -r.int(4096) : 128);
    const giant =
      rpc === "Dispatch"
        ? [
            {
              no: 1,
              wt: 2,
              value: [
                { no: 2, wt: 2, value: Buffer.from("true") },
                {
                  no: 4,
                  wt: 2,
                  value: [
                    { no: 1, wt: 2, value: Buffer.from("big") },
                    { no: 2, wt: 2, value: Buffer.alloc(size, 0x61) },
                  ],
                },
              ],
            },
          ]
        : [{ no: 99, wt: 2, value: Buffer.alloc(size, 0x61) }];
    return { rpc, bytes: encode(giant as Field[]), how: `giant (${size} bytes of payload)` };
  }
  const root = parse(valid(r), schema);
  const applied: string[] = [];
  if (roll >= 0.05) {
    for (let n = 1 + r.int(3); n > 0; n--) {
      const name = r.pick(Object.keys(TREE_MUTATIONS));
      TREE_MUTATIONS[name]!(r, root, schema);
      applied.push(name);
    }
  }
  let bytes = encode(root);
  if (r.chance(0.3)) {
    const name = r.pick(Object.keys(BYTE_MUTATIONS));
    bytes = BYTE_MUTATIONS[name]!(r, bytes);
    applied.push(name);
  }
  return { rpc, bytes, how: applied.join("+") || "valid" };
}

// ---- the worker under test ----
let baseDir: string;
let worker: BinWorker;
let raw: Client;
let health: HealthClient;

/** The worker's resident memory, or undefined once its process has gone. */
function rssBytes(pid: number): number | undefined {
  try {
    const procStatus = readFileSync(`/proc/${pid}/status`, "utf8");
    if (/^State:\s+Z/m.test(procStatus)) return undefined;
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(procStatus)?.[1] ?? 0) * 1024;
  } catch {
    return undefined;
  }
}

describeSandbox("malformed requests to every RPC", () => {
  beforeAll(async () => {
    baseDir = await mkdtemp(join(tmpdir(), "ocw-fuzz-"));
    worker = await startBinWorker([
      `--session.base_dir=${baseDir}`,
      `--security.sandbox_uid_base=${freeUidBase()}`,
      `--grpc.max_receive_message_bytes=${RECEIVE_LIMIT}`,
      // Jobs the fuzzer dispatches are short and few at a time: calls that wait for one (StreamJob) stay within the deadline.
      "--worker.concurrency=2",
      "--session.max_concurrent_sessions=4",
      "--governance.max_timeout_ms=2000",
      "--governance.default_timeout_ms=2000",
      "--governance.max_idle_timeout_ms=2000",
      "--governance.default_idle_timeout_ms=2000",
    ]);
    raw = new Client(worker.address, credentials.createInsecure());
    health = new HealthClient(worker.address);
    expect(await rawCall(raw, "UploadBlobs", Buffer.from(RPCS.UploadBlobs!.valid(new Random(() => 0))))).toMatchObject({ code: status.OK });
    const command = 'echo out; echo err >&2; echo artifact > "$OPENCODE_OUTPUT_DIR/a.txt"';
    const dispatched = await rawCall(
      raw,
      "Dispatch",
      Buffer.from(DispatchRequest.encode({ spec: { ...spec(new Random(() => 0)), jobId: DONE_JOB, command } }).finish()),
    );
    expect(dispatched).toMatchObject({ code: status.OK });
    const collected = await rawCall(raw, "Collect", Buffer.from(CollectRequest.encode({ jobId: DONE_JOB, wait: true }).finish()));
    expect(collected.code).toBe(status.OK);
    const { result } = CollectResponse.decode(collected.responses[0]!);
    expect({ stdout: Buffer.from(result!.stdout).toString(), artifacts: result!.artifacts.map((artifact) => artifact.path) }).toEqual({
      stdout: "out\n",
      artifacts: ["a.txt"],
    });
  }, 60_000);

  afterAll(async () => {
    raw?.close();
    health?.close();
    await worker?.stop();
    await rm(baseDir, { recursive: true, force: true });
  });

  it("answers the unmutated request of each RPC with OK, so mutations start from valid requests", async () => {
    for (const [rpc, { valid }] of Object.entries(RPCS)) {
      const outcome = await rawCall(raw, rpc, Buffer.from(valid(new Random(() => 0))), CALL_DEADLINE_MS);
      expect({ rpc, code: outcome.code, details: outcome.details }).toEqual({ rpc, code: status.OK, details: "" });
    }
  });

  it(
    `answers every call with an expected status within ${CALL_DEADLINE_MS} ms and stays up, healthy and under ${MAX_RSS_BYTES / 1024 ** 2} MiB`,
    async () => {
      console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} repeats these cases), budget ${BUDGET_MS} ms (FUZZ_MS)`);
      const failures: string[] = [];
      const calls: Record<string, Record<string, number>> = {};
      const end = Date.now() + BUDGET_MS;
      let next = 0;
      let peakRss = 0;
      let down = false;
      let finished = false;

      const record = (index: number, rpc: string, bytes: Buffer, how: string, outcome: RawOutcome): void => {
        const byCode = (calls[rpc] ??= {});
        const name = status[outcome.code] ?? String(outcome.code);
        byCode[name] = (byCode[name] ?? 0) + 1;
        if (EXPECTED.has(outcome.code)) return;
        const shown = bytes.length > 96 ? `${bytes.subarray(0, 96).toString("hex")}… (${bytes.length} bytes)` : bytes.toString("hex");
        failures.push(`seed ${SEED} case ${index}: ${rpc} [${how}] ${shown} -> ${name}: ${outcome.details}`);
      };
      const caller = async (): Promise<void> => {
        while ((REPLAY ? next < REPLAY.length : Date.now() < end) && !down) {
          const index = REPLAY ? REPLAY[next++]! : next++;
          const { rpc, bytes, how } = fuzzCase(index);
          record(index, rpc, bytes, how, await rawCall(raw, rpc, bytes, CALL_DEADLINE_MS));
        }
      };
      // Between batches of calls: the process is there, answers health, and its memory stays bounded.
      const monitor = async (): Promise<void> => {
        while (!finished && !down) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          const rss = rssBytes(worker.pid);
          const serving = rss === undefined ? "exited" : await health.status().catch((error: Error) => error.message);
          peakRss = Math.max(peakRss, rss ?? 0);
          if (serving !== "SERVING") failures.push(`seed ${SEED}: after ${next} cases the worker is ${serving}`);
          if ((rss ?? 0) > MAX_RSS_BYTES) failures.push(`seed ${SEED}: after ${next} cases the worker's RSS is ${rss} bytes`);
          down = serving !== "SERVING";
        }
      };
      const calling = Promise.all(Array.from({ length: REPLAY ? 1 : IN_FLIGHT }, caller)).then(() => (finished = true));
      await Promise.all([monitor(), calling]);

      // Cancel what the fuzzer managed to dispatch and is still queued or running.
      const listed = await rawCall(raw, "ListSessions", Buffer.alloc(0), CALL_DEADLINE_MS);
      const sessions = listed.responses[0] ? ListSessionsResponse.decode(listed.responses[0]).sessions : [];
      const ended = new Set([
        JobState.JOB_STATE_FINISHED,
        JobState.JOB_STATE_FAILED,
        JobState.JOB_STATE_TIMED_OUT,
        JobState.JOB_STATE_CANCELLED,
      ]);
      const leftovers = sessions.filter((session) => !ended.has(session.state));
      for (const { jobId: left } of leftovers)
        await rawCall(raw, "Cancel", Buffer.from(CancelRequest.encode({ jobId: left, reason: "fuzz" }).finish()));

      const total = Object.fromEntries(
        Object.entries(calls).map(([rpc, byCode]) => [rpc, Object.values(byCode).reduce((a, b) => a + b, 0)]),
      );
      console.log(
        `fuzz seed ${SEED}: ${next} cases in ${BUDGET_MS} ms, peak RSS ${(peakRss / 1024 ** 2).toFixed(1)} MiB, ${sessions.length} jobs held, ${leftovers.length} cancelled at the end\n` +
          Object.entries(calls)
            .map(([rpc, byCode]) => `  ${rpc}: ${total[rpc]} calls ${JSON.stringify(byCode)}`)
            .join("\n"),
      );
      expect(failures).toEqual([]);
      expect(listed.code).toBe(status.OK);
      expect(await health.status()).toBe("SERVING");
      // Every RPC was reached a fair number of times.
      if (!REPLAY) expect(Object.keys(calls).sort()).toEqual(Object.keys(RPCS).sort());
    },
    BUDGET_MS + 60_000,
  );
});
