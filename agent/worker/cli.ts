/**
 * `npm run agent -- --overlord URL --token T --capacity N --host NAME:PORT`: starts an agent
 * (flags and env vars: agent/worker/config.ts, `--help`). A bad flag exits 2. SIGTERM / SIGINT stop it
 * gracefully (running tasks get --shutdown-grace-ms to finish, their outcomes are reported,
 * exit 0); a second signal exits at once with 1. If the tsx launcher dies, the agent exits at
 * once (agent/common/launcher.ts).
 */
import { Agent } from "./agent.ts";
import { ConfigError, helpText, loadConfig, type AgentConfig } from "./config.ts";
import { watchLauncher } from "../common/launcher.ts";
import { batchedStdout, Logger } from "../common/logger.ts";

function configOrExit(): AgentConfig {
  try {
    const cfg = loadConfig(process.argv.slice(2), process.env);
    if (cfg) return cfg;
    process.stdout.write(helpText() + "\n");
    process.exit(0);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`druid-edge agent: ${err.message}\n\nRun with --help for every flag.\n`);
    process.exit(2);
  }
}

const cfg = configOrExit();
const logger = new Logger(cfg.json, batchedStdout());
const agent = new Agent(cfg, logger);
let signals = 0;
for (const sig of ["SIGTERM", "SIGINT"] as const) {
  process.on(sig, () => {
    if (++signals > 1) {
      logger.warn(`received ${sig} again: exiting now`);
      process.exit(1);
    }
    logger.info(`received ${sig}`);
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error("stop failed", { error: String(err) });
        process.exit(1);
      },
    );
  });
}
watchLauncher(() => {
  logger.error("the tsx launcher of this agent is gone (killed?): exiting now");
  process.exit(1);
});
agent.start();
