import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout. Tokens are never logged on purpose (the access log drops query strings
 * and headers); the redaction below is the second line of defence should one reach a log call.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'statusmate-exporter' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['token', '*.token', 'headers.authorization', '*.headers.authorization', 'headers["x-webhook-token"]', '*.headers["x-webhook-token"]'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
