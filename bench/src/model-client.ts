/**
 * The model client of (l), run as a process of its own so that the same program calls the provider directly on
 * the host and, inside a network namespace of its own, through model-relay and the gateway:
 *   node model-client.js BASE_URL latency WARMUP COUNT   sequential short streamed chat completions on one
 *                                                          kept-alive connection; prints {"samplesMs":[...]}
 *   node model-client.js BASE_URL stream BYTES COUNT     long streams read and counted, nothing kept, after
 *                                                          one unmeasured warm-up stream (JIT on both ends);
 *                                                          prints {"streams":[{"bytes":N,"ms":M}, ...]}
 * Each sample runs from the request's first byte sent to the response's end. A response that is not a 200
 * ending in `data: [DONE]` exits 1, so a failure cannot pass for a fast answer.
 */
import http from "node:http";

const [baseUrl, mode, first, second] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1, noDelay: true });
const url = new URL(`${baseUrl}/chat/completions`);
const DONE = "data: [DONE]\n\n";

/** One completion; resolves with its size and duration. */
function complete(body: object): Promise<{ bytes: number; ms: number }> {
  const payload = JSON.stringify({ ...body, stream: true, messages: [{ role: "user", content: "bench" }] });
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const request = http.request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
      (response) => {
        let bytes = 0;
        let tail = "";
        response.on("data", (data: Buffer) => {
          bytes += data.length;
          tail = (tail + data.toString("latin1", Math.max(0, data.length - DONE.length))).slice(-DONE.length);
        });
        response.once("error", reject);
        response.once("end", () => {
          const ms = performance.now() - start;
          if (response.statusCode !== 200 || tail !== DONE)
            reject(new Error(`HTTP ${response.statusCode}, the stream ended ${JSON.stringify(tail)}`));
          else resolve({ bytes, ms });
        });
      },
    );
    request.once("error", reject);
    request.end(payload);
  });
}

async function main(): Promise<object> {
  if (mode === "latency") {
    const warmup = Number(first);
    const count = Number(second);
    const samplesMs: number[] = [];
    for (let i = 0; i < warmup + count; i += 1) {
      const { ms } = await complete({ model: "bench-short" });
      if (i >= warmup) samplesMs.push(ms);
    }
    return { samplesMs };
  }
  if (mode === "stream") {
    const bytes = Number(first);
    const streams = [];
    for (let i = 0; i <= Number(second); i += 1) streams.push(await complete({ model: "bench-long", max_tokens: bytes }));
    return { streams: streams.slice(1) };
  }
  throw new Error(`usage: model-client.js BASE_URL latency WARMUP COUNT | stream BYTES COUNT, got ${JSON.stringify(mode)}`);
}

main().then(
  (figures) => {
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    agent.destroy();
  },
  (error: unknown) => {
    process.stderr.write(`model-client: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
