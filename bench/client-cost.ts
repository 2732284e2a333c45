/**
 * Benchmark probe (not a test): CPU per request spent by the load generator itself, for Node's
 * `fetch`, `node:http` with a keep-alive agent and undici's `Pool.request`, GET and POST, at
 * concurrency 64 against a trivial HTTP server in a separate process. It is why bench/lib/load.ts
 * drives its load through undici's Pool: the generator shares this machine's two cores with the
 * server under test.
 *
 *   npx tsx bench/client-cost.ts [--seconds 2] [--rounds 2]
 */
import { fork } from "node:child_process";
import http from "node:http";
import { parseArgs } from "node:util";
import { Pool } from "undici";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "2" }, rounds: { type: "string", default: "2" }, serve: { type: "boolean", default: false } } });

if (values.serve) {
  const answer = '{"task":"noop_2026-11-30T14:58:27.949Z_d7a691a2-9c17-4124-a485-6786d2344247"}';
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(answer);
    });
  });
  server.listen(0, "127.0.0.1", () => process.send!((server.address() as { port: number }).port));
} else {
  const child = fork(new URL(import.meta.url).pathname, ["--serve"], { execArgv: ["--import", "tsx"] });
  const port = await new Promise<number>((resolve) => child.once("message", (m) => resolve(m as number)));
  const origin = `http://127.0.0.1:${port}`;
  const body = '{"type":"noop","runTime":0}';
  const auth = "Bearer 0123456789abcdef0123456789abcdef";
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const pool = new Pool(origin, { connections: 64 });
  const viaHttp = (method: "GET" | "POST") =>
    new Promise<void>((resolve, reject) => {
      const headers: Record<string, string | number> = { authorization: auth };
      if (method === "POST") Object.assign(headers, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      const req = http.request(`${origin}/x`, { method, agent, headers }, (res) => {
        res.resume();
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end(method === "POST" ? body : undefined);
    });
  const clients: Record<string, () => Promise<unknown>> = {
    "fetch GET": async () => (await fetch(`${origin}/x`, { headers: { Authorization: auth } })).arrayBuffer(),
    "fetch POST": async () => (await fetch(`${origin}/x`, { method: "POST", headers: { Authorization: auth, "content-type": "application/json" }, body })).arrayBuffer(),
    "node:http GET": () => viaHttp("GET"),
    "node:http POST": () => viaHttp("POST"),
    "undici Pool GET": async () => (await pool.request({ path: "/x", method: "GET", headers: { authorization: auth } })).body.text(),
    "undici Pool POST": async () => (await pool.request({ path: "/x", method: "POST", headers: { authorization: auth, "content-type": "application/json" }, body })).body.text(),
  };
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const [name, send] of Object.entries(clients)) {
        let n = 0;
        const end = performance.now() + Number(values.seconds) * 1000;
        const c0 = process.cpuUsage();
        await Promise.all(
          Array.from({ length: 64 }, async () => {
            while (performance.now() < end) {
              await send();
              n++;
            }
          }),
        );
        const c = process.cpuUsage(c0);
        console.log(`${name}: ${n} requests, ${((c.user + c.system) / 1000 / n).toFixed(3)} ms client CPU per request`);
      }
    }
  } finally {
    await pool.close();
    agent.destroy();
    child.kill();
  }
}
