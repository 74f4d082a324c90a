import { resolve } from 'node:path';
import type { Command, CommandIo } from '../command.ts';
import { parseArguments } from '../parse-arguments.ts';
import { CoexistConfigError, loadCoexistConfig } from '../serve/coexist-config.ts';
import { createLineLogger } from '../serve/coexist-logger.ts';
import { collectSecrets } from '../serve/create-coexist.ts';
import { startCoexistServer } from '../serve/create-coexist-server.ts';
import { UsageError } from '../usage-error.ts';
import { writeText } from '../write-text.ts';

/** `coexist serve`: the production server (Meta webhook, sync engine, cards, /health, /status) on one port. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'Run the Coexist server: Meta webhook, sync engine, CRM card endpoints, /health and /status.',
  usage: [
    'coexist serve --config coexist.config.json [--port N] [--quiet]',
    '',
    'Runs until SIGINT/SIGTERM, then stops accepting, finishes webhook acks in flight, stops the engine and',
    'closes the store. Secrets come from environment variables named in the config ({ "env": "NAME" }).',
    '',
    'Options:',
    '  --config FILE   the configuration file (required); see docs/serve.md',
    "  --port N        listen on this port instead of the config's (0 picks a free one)",
    '  --quiet         log warnings and errors only',
  ].join('\n'),
  async run(argv, io) {
    const { values } = parseArguments(argv, {
      config: { type: 'string', short: 'c' },
      port: { type: 'string' },
      quiet: { type: 'boolean' },
    });
    if (values.config === undefined) throw new UsageError('--config is required');
    // Digits only: `Number('')` is 0 (a random port), and `0x1F90` or `1e3` are not what anyone types for a port.
    const port = values.port === undefined ? undefined : /^\d{1,5}$/.test(values.port) ? Number(values.port) : -1;
    if (port !== undefined && (port < 0 || port > 65535)) {
      throw new UsageError(`--port must be a whole number from 0 to 65535, got '${values.port}'`);
    }

    let config: Awaited<ReturnType<typeof loadCoexistConfig>>;
    try {
      config = await loadCoexistConfig(resolve(io.cwd, values.config), io.env);
    } catch (error) {
      if (!(error instanceof CoexistConfigError)) throw error;
      const lines = error.issues.map(
        (issue) => `coexist: config error at ${issue.path === '' ? values.config : issue.path}: ${issue.message}\n`,
      );
      await writeText(io.stderr, lines.join(''));
      return 1;
    }
    if (port !== undefined) config = { ...config, port };

    const logger = createLineLogger({
      stream: io.stderr,
      quiet: values.quiet === true,
      secrets: collectSecrets(config),
    });
    const server = await startCoexistServer(config, { logger });
    logger.info('listening', {
      url: server.url,
      webhook: config.webhookPath,
      connections: config.connections.length,
      store: config.store.type,
      ...(config.store.type === 'sqlite' && config.store.writerThread === true ? { writer: 'thread' } : {}),
    });
    const signal = await waitForStop(io);
    logger.info('shutting down', { signal });
    await server.close();
    logger.info('stopped');
    return 0;
  },
};

/** Resolves with the signal's name on SIGINT/SIGTERM, or when the injected io says to stop (tests). */
function waitForStop(io: CommandIo): Promise<string> {
  return new Promise((resolve) => {
    const stop = (name: string) => {
      process.off('SIGINT', onInterrupt);
      process.off('SIGTERM', onTerminate);
      resolve(name);
    };
    const onInterrupt = () => stop('SIGINT');
    const onTerminate = () => stop('SIGTERM');
    process.once('SIGINT', onInterrupt);
    process.once('SIGTERM', onTerminate);
    if (io.signal?.aborted) stop('abort');
    io.signal?.addEventListener('abort', () => stop('abort'), { once: true });
  });
}
