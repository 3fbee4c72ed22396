// Jest runs the TypeScript sources directly through swc (no type check: `pnpm build` does that).
/** @type {import('jest').Config} */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } } }] },
  moduleNameMapper: {
    "^@opencode-worker/(shared|master-client|worker-node|opencode-plugin)$": "<rootDir>/packages/$1/src/index.ts",
    "^(\\.{1,2}/.*)\\.js$": "$1",
  },
  testMatch: ["<rootDir>/packages/*/src/**/*.test.ts", "<rootDir>/packages/*/test/**/*.test.ts"],
  testTimeout: 30000,
  // Integration tests spawn real processes and sandboxes: 2 cores, so keep parallelism modest.
  maxWorkers: 2,
};
