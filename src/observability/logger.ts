import { format } from 'node:util';

import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

/**
 * The server's log (pino): one JSON object per line, or pretty lines when stdout is a terminal
 * (LOG_FORMAT forces either). Keys never appear in it: requests are logged with the key's id and
 * name, and any `authorization` field is redacted wherever it turns up.
 */
export function createLogger(level: LogLevel, options: { format?: 'json' | 'pretty'; destination?: NodeJS.WritableStream } = {}): Logger {
  const settings: pino.LoggerOptions = {
    level,
    base: { service: 'customer-graph' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', 'key', 'secret'], censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
    // `"level":"info"` rather than 30: readable without the table of pino's numbers.
    formatters: { level: (label) => ({ level: label }) },
  };
  const asPretty = (options.format ?? (process.stdout.isTTY ? 'pretty' : 'json')) === 'pretty';
  if (asPretty) {
    return pino(settings, pretty({ colorize: Boolean(process.stdout.isTTY), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true, destination: options.destination ?? 1, sync: true }));
  }
  return pino(settings, options.destination ?? pino.destination({ dest: 1, sync: false }));
}

/**
 * Sends `console.error/warn/info/log` through the logger, so the modules' own messages come out
 * as structured lines too (an Error among the arguments becomes `err`, with its stack and cause).
 * Returns the function that puts the console back.
 */
export function routeConsole(logger: Logger): () => void {
  const original = { error: console.error, warn: console.warn, info: console.info, log: console.log };
  const route = (level: 'error' | 'warn' | 'info') => (...args: unknown[]) => {
    const err = args.find((a): a is Error => a instanceof Error);
    const rest = args.filter((a) => a !== err);
    if (err) logger[level]({ err }, rest.length ? format(...rest) : err.message);
    else logger[level](format(...rest));
  };
  console.error = route('error');
  console.warn = route('warn');
  console.info = route('info');
  console.log = route('info');
  return () => Object.assign(console, original);
}
