/** k6 has a `console` (its output goes to k6's log); @types/k6 leaves it to the DOM lib. */
declare var console: {
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  debug(...data: unknown[]): void;
};
