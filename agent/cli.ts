/**
 * `npm run agent -- --overlord URL --token T --capacity N --host NAME:PORT`: starts an agent.
 * SIGTERM / SIGINT stop it gracefully (running tasks get --shutdown-grace-ms to finish, their
 * outcomes are reported, exit 0); a second signal exits at once.
 */
import { ConfigError, helpText, loadConfig } from "./config.ts";
import { Agent } from "./agent.ts";
import { Logger } from "./logger.ts";

let cfg;
try {
  cfg = loadConfig(process.argv.slice(2), process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`druid-edge agent: ${err.message}\n\n${helpText()}\n`);
    process.exit(2);
  }
  throw err;
}
if (!cfg) {
  process.stdout.write(helpText() + "\n");
  process.exit(0);
}

const logger = new Logger(cfg.json);
const agent = new Agent(cfg, logger);
let signals = 0;
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    if (++signals > 1) process.exit(1);
    logger.info(`received ${sig}`);
    agent.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error("stop failed", { error: String(err) });
        process.exit(1);
      },
    );
  });
}
await agent.start();
