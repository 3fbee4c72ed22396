// @ts-check
// The lint gate (`pnpm lint`): promises that cannot be dropped, no import cycles, and the rules between folders
// that ARCHITECTURE.md describes. Formatting is Prettier's job, so no stylistic rule lives here.
import { defineConfig } from "eslint/config";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import importX from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

const grpc = {
  group: ["@grpc/*", "grpc-health-check"],
  message: "Only the transport layer knows gRPC (worker-node: src/server/; master-client: its transport files).",
};
const sdk = {
  group: ["@opencode-worker/master-client"],
  message: "The worker never depends on the SDK; code both need belongs in @opencode-worker/shared.",
};
const workspace = {
  group: ["@opencode-worker/*"],
  message: "@opencode-worker/shared is the bottom of the graph: it imports no other workspace package.",
};
// Matched against the import string, so it catches `../session/x.js` at any depth under these folders.
const upward = {
  group: ["**/session/**", "**/server/**"],
  message: "limits/, sandbox/, security/, files/ and config/ sit below session/ and server/: pass what they need in instead.",
};

// session/ sees tracing through the JobTracer interface (session/job-trace.ts); observability/tracing.ts implements it.
const otel = {
  group: ["@opentelemetry/*"],
  message: "session/ knows tracing only as JobTracer (session/job-trace.ts): OpenTelemetry lives in observability/tracing.ts.",
};

// The floors below sandbox/ and security/: config/ is read by all and reads none of them; files/ does
// the I/O the others ask for (security/ may use its glob matcher and types, not the other way round).
const belowSecurity = {
  group: ["**/security/**", "**/sandbox/**"],
  message: "files/ and config/ sit below security/ and sandbox/: move what both need down, or pass it in.",
};
const belowFiles = { group: ["**/files/**"], message: "config/ sits below files/: it reads and checks settings only." };

// session/ knows a sandbox only by its interface; the start-up (worker.ts) picks the driver.
const sandboxInterface = {
  group: ["**/sandbox/**", "!**/sandbox/driver.js"],
  message: "session/ uses the sandbox through sandbox/driver.ts only: move what it needs into the interface.",
};
// sandbox/ reads its few settings from a SandboxSettings the start-up builds, not the whole WorkerConfig.
const belowConfig = {
  group: ["**/config/**"],
  message: "sandbox/ does not read the config: add the setting to SandboxSettings (select-driver.ts) and pass it in.",
};

// The plugin is a thin map from tool calls to the SDK: it reaches a worker only through the SDK.
const pluginDeps = {
  group: ["@opencode-worker/shared", "@opencode-worker/worker-node", "@opencode-worker/cli"],
  message: "The OpenCode plugin speaks to workers through @opencode-worker/master-client only.",
};
const reportBelowTools = {
  group: ["**/tools/**", "**/settings.js", "@opencode-ai/*"],
  message: "report/ turns SDK results into text: it knows neither the tools nor opencode.",
};

/** @param {...{ group: string[]; message: string }} patterns */
const restrict = (...patterns) => ({ "no-restricted-imports": ["error", { patterns }] });

// The master-client files that speak grpc-js: the calls, their retry policy, the channel options and the one
// table from gRPC status codes to SDK errors. Everything else works on SDK types.
const sdkTransport = ["transport", "retry", "options", "errors"].map((name) => `packages/master-client/src/${name}.ts`);

export default defineConfig(
  {
    ignores: ["**/dist/", "packages/shared/src/generated/", "packages/worker-node/native/build/", "bench/results/", "coverage/"],
  },
  {
    files: ["**/*.ts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        project: "./tsconfig.lint.json",
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { "@typescript-eslint": tseslint.plugin, "import-x": importX },
    settings: {
      // Without the TypeScript extensions and parser, import-x skips .ts files and sees no cycle at all.
      "import-x/extensions": [".ts"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "./tsconfig.lint.json" })],
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      // Type-only imports are erased, so only runtime cycles count.
      "import-x/no-cycle": "error",
    },
  },
  // Later entries replace earlier ones for the same file, so each entry lists every pattern that applies to it.
  {
    files: ["packages/worker-node/src/**/*.ts"],
    ignores: ["packages/worker-node/src/server/**"],
    rules: restrict(grpc, sdk),
  },
  {
    files: ["packages/worker-node/src/server/**/*.ts"],
    rules: restrict(sdk),
  },
  {
    // Its tests may build a real driver to run sessions on.
    files: ["packages/worker-node/src/session/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: restrict(grpc, sdk, sandboxInterface, otel),
  },
  {
    files: ["packages/worker-node/src/{limits,security}/**/*.ts"],
    rules: restrict(grpc, sdk, upward),
  },
  {
    files: ["packages/worker-node/src/sandbox/**/*.ts"],
    rules: restrict(grpc, sdk, upward, belowConfig),
  },
  {
    files: ["packages/worker-node/src/files/**/*.ts"],
    rules: restrict(grpc, sdk, upward, belowSecurity),
  },
  {
    files: ["packages/worker-node/src/config/**/*.ts"],
    rules: restrict(grpc, sdk, upward, belowSecurity, belowFiles),
  },
  {
    files: ["packages/master-client/src/**/*.ts"],
    ignores: [...sdkTransport, "**/*.test.ts"],
    rules: restrict(grpc),
  },
  {
    files: ["packages/shared/**/*.ts"],
    rules: restrict(workspace),
  },
  {
    files: ["packages/opencode-plugin/src/**/*.ts"],
    ignores: ["packages/opencode-plugin/src/report/**"],
    rules: restrict(grpc, pluginDeps),
  },
  {
    files: ["packages/opencode-plugin/src/report/**/*.ts"],
    rules: restrict(grpc, pluginDeps, reportBelowTools),
  },
);
