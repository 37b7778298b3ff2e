// Log lines of the capture and store threads go to the session's thread, which writes them
// through its own logger: one format (readable or JSON), one redaction, one level for the process.
import type { MessagePort } from 'node:worker_threads';
import { pino, type Logger } from 'pino';

/** A thread's logger: each line is posted to `port` as `{ type: 'log', line }`. */
export function threadLogger(port: MessagePort, level: string, name: string): Logger {
  return pino({ level, name, base: undefined, timestamp: false }, { write: (line: string) => port.postMessage({ type: 'log', line }) });
}

/** Writes a thread's log line through `log`, with the thread's name. */
export function relayLogLine(log: Logger, line: string): void {
  const { level, msg, name, ...fields } = JSON.parse(line) as { level: number; msg?: string; name?: string };
  const method = (pino.levels.labels[level] ?? 'info') as 'info';
  log[method]({ thread: name, ...fields }, msg);
}
