import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ResourceExhaustedError, WorkerClient } from "@opencode-worker/master-client";
import { startTestWorker, type TestWorker } from "../harness.js";
import { tokenLine } from "../support/certificates.js";

/*
 * worker.max_running_per_caller and worker.max_queued_per_caller, per token identity: one caller at
 * its caps leaves the others' jobs untouched. alice is an admin, to show admins are not exempt.
 */
let dir: string;
let t: TestWorker;
let bob: WorkerClient;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ocw-caps-"));
  const tokenFile = join(dir, "tokens");
  await writeFile(tokenFile, tokenLine("alice", "alice-token") + tokenLine("bob", "bob-token"));
  t = await startTestWorker(
    {
      auth: { token_file: tokenFile, admins: ["alice"] },
      worker: { concurrency: 4, max_running_per_caller: 1, max_queued_per_caller: 1 },
    },
    { client: { token: "alice-token" } },
  );
  bob = await WorkerClient.connect({ address: t.worker.address, token: "bob-token" });
});
afterAll(async () => {
  bob.close();
  await t.stop();
  await rm(dir, { recursive: true, force: true });
});

it("queues a caller's job beyond its running cap, refuses one beyond its queued cap, and lets another caller run", async () => {
  const alice = t.client;
  const running = await alice.dispatch({ command: "sleep 30" });
  // Three of the four slots are free, yet alice's second job waits.
  const waiting = await alice.dispatch({ command: "echo waited" });
  expect((await waiting.status()).state).toBe("queued");

  const refusal = await alice.dispatch({ command: "echo third" }).catch((error: unknown) => error);
  expect(refusal).toBeInstanceOf(ResourceExhaustedError);
  for (const part of ["worker.max_queued_per_caller 1", "worker.max_running_per_caller 1", "1 jobs running and 1 queued"]) {
    expect((refusal as Error).message).toContain(part);
  }

  // bob passes alice's waiting job.
  expect((await (await bob.dispatch({ command: "echo bob" })).wait()).stdoutText).toBe("bob\n");
  expect((await waiting.status()).state).toBe("queued");

  await running.cancel();
  expect((await waiting.wait()).stdoutText).toBe("waited\n");
});
