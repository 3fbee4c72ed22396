import { describe, expect, it } from "@jest/globals";
import { WorkerError } from "../errors.js";
import type { CommandPolicy, JobProgram } from "./command-policy.js";
import { CommandVerdicts } from "./command-verdicts.js";

/** A policy that allows everything but "sudo ...", counting how often it really runs. */
function countingPolicy() {
  const calls: string[] = [];
  const check = async (program: JobProgram): Promise<void> => {
    const text = "command" in program ? program.command : program.argv.join(" ");
    calls.push(text);
    if (text.startsWith("sudo")) throw new WorkerError("PERMISSION_DENIED", "sudo is never allowed");
  };
  return { calls, verdicts: new CommandVerdicts(check) };
}

describe("CommandVerdicts", () => {
  const policy: CommandPolicy = { allowlist: ["npm", "git"] };

  it("checks a shell line once and answers repeats from memory, denials included", async () => {
    const { calls, verdicts } = countingPolicy();
    await verdicts.verify({ command: "npm test" }, policy);
    await verdicts.verify({ command: "npm test" }, policy);
    await expect(verdicts.verify({ command: "sudo ls" }, policy)).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    await expect(verdicts.verify({ command: "sudo ls" }, policy)).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    expect(calls).toEqual(["npm test", "sudo ls"]);
  });

  it("keeps verdicts apart per allowlist and per dialect", async () => {
    const { calls, verdicts } = countingPolicy();
    await verdicts.verify({ command: "git status" }, policy);
    await verdicts.verify({ command: "git status" }, { allowlist: ["git"] });
    await verdicts.verify({ command: "git status" }, { ...policy, shell: "bash" });
    expect(calls).toHaveLength(3);
  });

  it("always checks argv and very long lines", async () => {
    const { calls, verdicts } = countingPolicy();
    const long = `npm test ${"x".repeat(5000)}`;
    for (let i = 0; i < 2; i += 1) {
      await verdicts.verify({ argv: ["npm", "test"] }, policy);
      await verdicts.verify({ command: long }, policy);
    }
    expect(calls).toHaveLength(4);
  });

  it("forgets the least recently used verdict beyond its capacity", async () => {
    const { calls, verdicts } = countingPolicy();
    await verdicts.verify({ command: "git log" }, policy);
    for (let i = 0; i < 1024; i += 1) await verdicts.verify({ command: `npm run t${i}` }, policy);
    await verdicts.verify({ command: "git log" }, policy);
    expect(calls.filter((text) => text === "git log")).toHaveLength(2);
  });
});
