import { describe, expect, it } from "@jest/globals";
import { credentials } from "@grpc/grpc-js";
import { HealthClient } from "./health-client.js";
import { UnavailableError } from "@opencode-worker/master-client";
import { eventually, startTestWorker } from "./harness.js";

describe("graceful shutdown", () => {
  it("lets running jobs finish within the grace period, refuses new ones, reports NOT_SERVING", async () => {
    const t = await startTestWorker();
    const health = new HealthClient(t.worker.address, credentials.createInsecure());
    try {
      const job = await t.client.dispatch({ command: "sleep 0.5; echo finished in grace" });
      const stopping = t.worker.stop(5000);
      await expect(t.client.dispatch({ command: "true" })).rejects.toBeInstanceOf(UnavailableError);
      expect(await health.status()).toBe("NOT_SERVING");
      const result = await job.wait();
      expect(result.stdoutText).toBe("finished in grace\n");
      await stopping;
    } finally {
      health.close();
      await t.stop();
    }
  });

  it("cancels jobs still running when the grace period is over, leaving nothing behind", async () => {
    const t = await startTestWorker();
    try {
      const job = await t.client.dispatch({ command: "echo started; sleep 60" });
      let started = false;
      const completed = (async () => {
        for await (const event of job.events()) {
          if (event.type === "output") started = true;
          if (event.type === "completed") return event.result;
        }
        return undefined;
      })();
      await eventually(() => started);
      const stopAt = Date.now();
      await t.worker.stop(300);
      expect(Date.now() - stopAt).toBeLessThan(10_000);
      expect(await completed).toMatchObject({ state: "cancelled", reason: "cancelled" });
      expect(await t.sessionDirs()).toEqual([]);
    } finally {
      await t.stop();
    }
  });
});
