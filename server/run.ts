/**
 * Runs the catalog server as a process does: configuration from the environment, listen, and a
 * graceful shutdown on SIGTERM or SIGINT. `main.ts` runs it as it is; the bench's server runs it
 * with code-only options (a statement counter).
 */
import { loadConfig, type ServerConfig } from './config.ts';
import { createCatalogServer, type CatalogServer, type CatalogServerOptions } from './create-server.ts';

// Until the server exists there is no logger: start-up failures go to stderr.
function exit(message: string): never {
  console.error(message);
  process.exit(1);
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function runServer(options: CatalogServerOptions = {}): Promise<CatalogServer> {
  let config: ServerConfig;
  try {
    config = loadConfig();
  } catch (error) {
    exit(reason(error));
  }

  let server: CatalogServer;
  try {
    server = await createCatalogServer(config, options);
  } catch (error) {
    exit(`Could not start: ${reason(error)}`);
  }

  try {
    const { url } = await server.listen();
    server.logger.info(`GraphiQL at ${url}`);
  } catch (error) {
    await server.close();
    exit(`Could not listen on ${config.host}:${config.port}: ${reason(error)}`);
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // `once`: a second signal during shutdown gets Node's default and ends the process at once.
    process.once(signal, () => {
      server.logger.info(`${signal} received, shutting down`);
      server.close().then(
        () => process.exit(0),
        (error: unknown) => {
          server.logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  return server;
}
