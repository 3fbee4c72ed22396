import { readFileSync } from "node:fs";

/** This package's version, read once (src/ and dist/ sit at the same depth below package.json). */
export const WORKER_VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
  .version;
