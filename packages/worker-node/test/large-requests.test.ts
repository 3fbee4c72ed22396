import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, type Settings } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, credentials, status } from "@grpc/grpc-js";
import { startBinWorker, type BinWorker } from "./bin-harness.js";
import { varint } from "./support/protobuf-bytes.js";
import { rawCall } from "./support/raw-call.js";

/*
 * Found by fuzz.test.ts (seed 1145626665): requests near grpc.max_receive_message_bytes from a busy client
 * hung until their deadline. HTTP/2 let the client send 64 KiB per round trip (Node's default receive
 * windows, see server/create-server.ts), and each round trip waited for a turn of the client's event loop.
 */
const LIMIT = 4 * 1024 ** 2;
/** How long the client's event loop is blocked at every turn, as generating fuzz cases blocked it. */
const BUSY_MS = 100;

/** A StatusRequest whose unknown field 99 carries `size` bytes: skipped, so the job_id "" is NOT_FOUND. */
function statusRequest(size: number): Buffer {
  return Buffer.concat([Buffer.from([0x9a, 0x06]), varint(BigInt(size)), Buffer.alloc(size, 0x61)]);
}

let dir: string;
let worker: BinWorker;
let raw: Client;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ocw-large-"));
  worker = await startBinWorker([`--grpc.max_receive_message_bytes=${LIMIT}`, `--session.base_dir=${join(dir, "sessions")}`]);
  raw = new Client(worker.address, credentials.createInsecure());
}, 60_000);
afterAll(async () => {
  raw?.close();
  await worker?.stop();
  await rm(dir, { recursive: true, force: true });
});

it("answers a request near the receive limit from a busy client in time, after one past the limit on the same connection", async () => {
  expect((await rawCall(raw, "Status", statusRequest(LIMIT + 64), 5_000)).code).toBe(status.RESOURCE_EXHAUSTED);
  const busy = setInterval(() => {
    const until = performance.now() + BUSY_MS;
    while (performance.now() < until);
  }, 0);
  try {
    // 64 round trips of 64 KiB would take 64 turns of BUSY_MS: past the deadline.
    const { code, details } = await rawCall(raw, "Status", statusRequest(LIMIT - 100 * 1024), 5_000);
    expect({ code, details }).toMatchObject({ code: status.NOT_FOUND });
  } finally {
    clearInterval(busy);
  }
}, 30_000);

it("lets a client send 8 MiB on one stream before it waits for a WINDOW_UPDATE (UploadBlobs sends 1 MiB messages back to back)", async () => {
  const session = connect(`http://${worker.address}`);
  try {
    const [settings] = (await once(session, "remoteSettings")) as [Settings];
    expect(settings.initialWindowSize).toBe(8 * 1024 ** 2);
  } finally {
    session.destroy();
  }
});
