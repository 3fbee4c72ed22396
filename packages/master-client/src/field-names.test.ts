import { describe, expect, it } from "@jest/globals";
import { withSdkFieldNames } from "./field-names.js";

describe("withSdkFieldNames", () => {
  it.each([
    ["limits.memory_bytes", "limits.memory"],
    ["limits.max_output_bytes", "limits.maxOutput"],
    ["limits.timeout_ms", "limits.timeoutMs"],
    ["limits.idle_timeout_ms", "limits.idleTimeoutMs"],
    ["limits.max_pids", "limits.maxPids"],
    ["limits.max_disk_bytes", "limits.maxDisk"],
    ["job_id", "jobId"],
    ["config.network", "network"],
    ['file_modes["run.sh"]', 'files["run.sh"].mode'],
    ['file_modes["a\\"b"]', 'files["a\\"b"].mode'],
  ])("names %s as the SDK does: %s", (wire, sdk) => {
    expect(withSdkFieldNames(wire)).toBe(sdk);
  });

  it("rewrites the names inside a message, and only whole names", () => {
    expect(withSdkFieldNames("killed at memory limit 1 GiB; peak 1 GiB: raise limits.memory_bytes")).toBe(
      "killed at memory limit 1 GiB; peak 1 GiB: raise limits.memory",
    );
    // The worker's own settings keep their names: the reader raises those in the worker's config.
    const governance = "limits.max_output_bytes: 3 GiB exceeds the worker's maximum 2 GiB (governance.max_output_bytes)";
    expect(withSdkFieldNames(governance)).toBe("limits.maxOutput: 3 GiB exceeds the worker's maximum 2 GiB (governance.max_output_bytes)");
    expect(withSdkFieldNames("limits.timeout_msx, my_job_id, cwd, limits.cpu")).toBe("limits.timeout_msx, my_job_id, cwd, limits.cpu");
  });
});
