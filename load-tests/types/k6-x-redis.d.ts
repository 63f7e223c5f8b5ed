/**
 * The part of k6's Redis client (`k6/x/redis`, the grafana/xk6-redis extension) that these
 * scripts use. @types/k6 2.x no longer types it: the module left k6's core (`k6/experimental/redis`
 * was deprecated, then removed) and is now an extension that k6 ≥ 1.2 resolves automatically.
 * Every method returns a promise; replies are go-redis values converted to JavaScript.
 */
declare module "k6/x/redis" {
  /** Connection options; a `redis://` URL string is accepted too. */
  export interface Options {
    socket: { host: string; port: number };
    username?: string;
    password?: string;
    database?: number;
  }

  /** A Redis client; it connects on its first command (never in the init context). */
  export class Client {
    constructor(options: string | Options);
    /** Any command, e.g. `sendCommand("XADD", key, "*", ...fields)`. */
    sendCommand(command: string, ...args: Array<string | number | boolean>): Promise<unknown>;
    hincrby(key: string, field: string, increment: number): Promise<number>;
    smembers(key: string): Promise<string[]>;
    del(...keys: string[]): Promise<number>;
  }
}
