// Writes the README's configuration table from the schema, between the config-table markers.
// Run through `pnpm docs:config` (it builds first); a test fails when the README misses a key.
import { readFileSync, writeFileSync } from "node:fs";

const { describeConfig } = await import("../packages/worker-node/dist/index.js");
const cell = (text) => text.replace(/\|/g, "\\|");
const rows = describeConfig().map(
  (row) => `| \`${row.key}\` | \`${row.env}\` | ${row.default === "" ? "(empty)" : `\`${cell(row.default)}\``} | ${cell(row.doc)} |`,
);
const table = ["| key | environment variable | default | meaning |", "|---|---|---|---|", ...rows].join("\n");
const readme = new URL("../README.md", import.meta.url);
const text = readFileSync(readme, "utf8");
const updated = text.replace(/(<!-- config-table:start -->\n)[\s\S]*?(<!-- config-table:end -->)/, `$1${table}\n$2`);
writeFileSync(readme, updated);
console.log(`README.md: ${rows.length} configuration keys`);
