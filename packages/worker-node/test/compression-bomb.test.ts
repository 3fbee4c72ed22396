import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { status } from "@grpc/grpc-js";
import { startBinWorker, type BinWorker } from "./bin-harness.js";
import { grpcFrame, openSession, rawGrpcCall } from "./support/raw-http2.js";

/*
 * grpc.max_receive_message_bytes bounds a message as it inflates, not only as it arrives: grpc-js
 * (>= 1.10.9, CVE-2024-37168) stops gunzip at the limit. The worker runs in its own process, so its
 * RSS is its own and not jest's.
 */
const MiB = 1024 ** 2;
let dir: string;
let worker: BinWorker;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ocw-bomb-"));
  worker = await startBinWorker(["--grpc.max_receive_message_bytes=4MiB", `--session.base_dir=${join(dir, "sessions")}`]);
});
afterAll(async () => {
  await worker.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A /proc/PID/status field in bytes (VmRSS: resident now; VmHWM: the peak since the last reset). */
function memory(field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${worker.pid}/status`, "utf8"));
  return Number(match![1]) * 1024;
}

it("refuses a gzip Dispatch that inflates to 1 GiB with RESOURCE_EXHAUSTED, the worker's peak memory flat", async () => {
  // gzip members concatenate: 16 of 64 MiB of zeros inflate to 1 GiB from about 1 MiB, well within the 4 MiB limit.
  const bomb = Buffer.concat(Array<Buffer>(16).fill(gzipSync(Buffer.alloc(64 * MiB))));
  expect(bomb.length).toBeLessThan(4 * MiB);

  const session = await openSession(worker.address);
  try {
    const before = memory("VmRSS");
    // Resets VmHWM to the current RSS, so it shows the peak of this call alone.
    writeFileSync(`/proc/${worker.pid}/clear_refs`, "5");
    const outcome = await rawGrpcCall(session, "Dispatch", grpcFrame(bomb, true), { "grpc-encoding": "gzip" }).outcome;
    expect(outcome.status).toBe(status.RESOURCE_EXHAUSTED);
    expect(memory("VmHWM") - before).toBeLessThan(64 * MiB);
  } finally {
    session.destroy();
  }
}, 60_000);
