import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { describeConfig } from "@opencode-worker/worker-node";

describe("README", () => {
  it("documents every configuration key with its environment variable and default (pnpm docs:config)", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    for (const row of describeConfig()) {
      expect(readme).toContain(`| \`${row.key}\` | \`${row.env}\` |`);
    }
  });
});
