import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { ConfigError, loadConfig } from '../../src/config';

/*
 * The operations settings (README, Configuration): a bad value stops the server at start with a
 * message naming the variable, and a good one is taken as written.
 */

const ROOT = path.join(__dirname, '..', '..');

function refused(env: Record<string, string>): string {
  try {
    loadConfig({ ...process.env, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('operations settings', () => {
  it('refuses a bad LOG_LEVEL, LOG_FORMAT, METRICS_TOKEN or CORS_ORIGINS with a message naming it', () => {
    expect(refused({ LOG_LEVEL: 'verbose' })).toBe('LOG_LEVEL must be silent, error, warn, info or debug, got "verbose"');
    expect(refused({ LOG_FORMAT: 'xml' })).toBe('LOG_FORMAT must be json or pretty, got "xml"');
    expect(refused({ METRICS_TOKEN: 'short' })).toBe('METRICS_TOKEN must be at least 16 characters (it guards /metrics)');
    expect(refused({ CORS_ORIGINS: 'shop.example.com' })).toMatch(/^CORS_ORIGINS: "shop\.example\.com" is not an origin/);
    expect(refused({ CORS_ORIGINS: 'https://shop.example.com/cart' })).toMatch(/^CORS_ORIGINS: "https:\/\/shop\.example\.com\/cart" is not an origin \(scheme, host and port only/);
    expect(refused({ CORS_ORIGINS: 'ftp://shop.example.com' })).toMatch(/^CORS_ORIGINS: "ftp:\/\/shop\.example\.com" is not an origin/);
  });

  it('takes good values as written', () => {
    const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json', METRICS_TOKEN: '  0123456789abcdef  ', CORS_ORIGINS: 'https://shop.example.com, http://localhost:3000/' });
    expect(config.logLevel).toBe('warn');
    expect(config.logFormat).toBe('json');
    expect(config.metricsToken).toBe('0123456789abcdef');
    expect(config.corsOrigins).toEqual(['https://shop.example.com', 'http://localhost:3000']);
    // Unset: the defaults.
    const defaults = loadConfig({ ...process.env, LOG_LEVEL: undefined, LOG_FORMAT: undefined, METRICS_TOKEN: undefined, CORS_ORIGINS: undefined });
    expect([defaults.logLevel, defaults.logFormat, defaults.metricsToken, defaults.corsOrigins]).toEqual(['info', undefined, undefined, []]);
  });

  it('takes WRITE_COMBINE_MAX and WRITE_COMBINE_IN_FLIGHT within their ranges, and refuses others', () => {
    const unset = { WRITE_COMBINE_MAX: undefined, WRITE_COMBINE_IN_FLIGHT: undefined };
    expect(loadConfig({ ...process.env, ...unset }).writeCombine).toEqual({ maxItems: 16, maxInFlight: 1 });
    expect(loadConfig({ ...process.env, WRITE_COMBINE_MAX: '1', WRITE_COMBINE_IN_FLIGHT: '8' }).writeCombine).toEqual({ maxItems: 1, maxInFlight: 8 });
    expect(refused({ WRITE_COMBINE_MAX: '0' })).toMatch(/^WRITE_COMBINE_MAX /);
    expect(refused({ WRITE_COMBINE_MAX: '1001' })).toMatch(/^WRITE_COMBINE_MAX /);
    expect(refused({ WRITE_COMBINE_IN_FLIGHT: 'two' })).toMatch(/^WRITE_COMBINE_IN_FLIGHT /);
  });

  it('stops `npm start` before it opens a port or a database, with the message and a failing exit code', () => {
    const run = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/index.ts'], {
      cwd: ROOT,
      env: { ...process.env, LOG_FORMAT: 'xml', PORT: '0' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('Configuration error: LOG_FORMAT must be json or pretty, got "xml"');
  });
});
