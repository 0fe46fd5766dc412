import { describe, expect, it } from 'vitest';
import { defaultConfig, loadConfig, type ServerConfig } from '../../server/config.ts';
import { PERSISTED_QUERIES } from '../../server/create-server.ts';

/** The server's own settings; the cache settings and limits have their own tests (cache-config.test.ts, limits.test.ts). */
function serverSettings(env: Record<string, string>): Omit<ServerConfig, 'cache' | 'limits'> {
  const { cache: _cache, limits: _limits, ...settings } = loadConfig(env);
  return settings;
}

describe('loadConfig', () => {
  it('has the defaults the README documents', () => {
    expect(serverSettings({})).toEqual({
      port: 4000,
      host: '0.0.0.0',
      logLevel: 'info',
      shutdownTimeoutMs: 10_000,
      prettyLogs: false,
    });
    expect(serverSettings({})).toEqual(defaultConfig);
  });

  it('reads every variable', () => {
    expect(
      serverSettings({
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: 'postgresql://app:secret@db.internal:5432/catalog',
        LOG_LEVEL: 'debug',
        SHUTDOWN_TIMEOUT_MS: '2500',
        NODE_ENV: 'development',
        METRICS_TOKEN: 'metrics-token-0123456789',
      }),
    ).toEqual({
      port: 0,
      host: '127.0.0.1',
      databaseUrl: 'postgresql://app:secret@db.internal:5432/catalog',
      logLevel: 'debug',
      shutdownTimeoutMs: 2500,
      prettyLogs: true,
      metricsToken: 'metrics-token-0123456789',
    });
    expect(loadConfig({ NODE_ENV: 'production' }).prettyLogs).toBe(false);
    expect(loadConfig({ PGLITE_DATA_DIR: '.data/pglite' }).pgliteDataDir).toBe('.data/pglite');
  });

  it('treats an empty variable as unset', () => {
    expect(serverSettings({ PORT: '', DATABASE_URL: '', LOG_LEVEL: '' })).toEqual(defaultConfig);
  });

  it('lists every bad value in one error', () => {
    let message = '';
    try {
      loadConfig({ PORT: 'abc', DATABASE_URL: 'mysql://db/catalog', LOG_LEVEL: 'loud', SHUTDOWN_TIMEOUT_MS: '-1' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'Invalid configuration:',
      '  - expected PORT to be an integer from 0 to 65535, got "abc"',
      '  - expected DATABASE_URL to be a postgres:// or postgresql:// URL, got "mysql://db/catalog"',
      '  - expected LOG_LEVEL to be one of debug, info, warn, error, silent, got "loud"',
      '  - expected SHUTDOWN_TIMEOUT_MS to be an integer from 0 to 3600000, got "-1"',
    ]);
  });

  it.each(['65536', '4000.5', ' 4000', '1e3', '-1'])('rejects PORT=%j', (port) => {
    expect(() => loadConfig({ PORT: port })).toThrow(`expected PORT to be an integer from 0 to 65535, got ${JSON.stringify(port)}`);
  });

  it('refuses a METRICS_TOKEN shorter than 16 characters or with outer spaces, without showing it', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short-secret' })).toThrow('expected METRICS_TOKEN to be at least 16 characters, got one of 12');
    expect(() => loadConfig({ METRICS_TOKEN: ' metrics-token-0123456789' })).toThrow(
      'expected METRICS_TOKEN without leading or trailing spaces, got a token that has them',
    );
  });

  it('keeps up to 1,000 persisted queries, each for an hour, as the README says', () => {
    expect(PERSISTED_QUERIES).toEqual({ max: 1000, ttlMs: 3_600_000 });
  });

  it('never prints a database password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'http://app:hunter2@db/catalog' })).toThrow(
      'got "http://app:***@db/catalog"',
    );
  });

  it('rejects PGLITE_DATA_DIR together with DATABASE_URL: one of them would be ignored', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db/catalog', PGLITE_DATA_DIR: '.data/pglite' })).toThrow(
      'expected PGLITE_DATA_DIR to be unset when DATABASE_URL is set, got ".data/pglite"',
    );
  });
});
