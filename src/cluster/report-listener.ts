import crypto from 'node:crypto';
import net from 'node:net';
import type { Readable } from 'node:stream';

/** The longest first line a driver sends: "<token> events" or "<token> results". */
const HELLO_MAX_BYTES = 128;
/** How long a connection may take to say which stream it is. */
const HELLO_TIMEOUT_MS = 10_000;

/**
 * Where a job submitted through Ray's Jobs API reports back to this host:
 * a TCP listener that takes the job driver's two connections, events and
 * results, each opened with the job's random token. Connections without it
 * are dropped; once both streams arrived it takes no more.
 */
export class ReportListener {
  readonly token = crypto.randomBytes(16).toString('hex');
  /** The driver's events connection (JSON lines), once it connected. */
  readonly events: Promise<Readable>;
  /** The driver's results connection (an Arrow IPC stream), once it connected. */
  readonly results: Promise<Readable>;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #arrived: Record<'events' | 'results', (socket: Readable) => void>;

  private constructor(server: net.Server) {
    this.#server = server;
    let events!: (socket: Readable) => void;
    let results!: (socket: Readable) => void;
    this.events = new Promise((resolve) => { events = resolve; });
    this.results = new Promise((resolve) => { results = resolve; });
    this.#arrived = { events, results };
    server.on('connection', (socket) => this.#greet(socket));
  }

  /** Listens on `host` (an address of this machine's), on a port the system picks. */
  static async listen(host: string): Promise<ReportListener> {
    const server = net.createServer();
    const listener = new ReportListener(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return listener;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Stops listening and closes the driver's connections: a driver still running sees its host gone and stops. */
  close(): void {
    this.#server.close();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  #greet(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(HELLO_TIMEOUT_MS, () => socket.destroy());
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf(0x0a);
      if (end < 0) {
        if (received.length > HELLO_MAX_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.pause();
      socket.setTimeout(0);
      const [token = '', stream = ''] = received.subarray(0, end).toString('latin1').split(' ');
      const expected = Buffer.from(this.token);
      const given = Buffer.from(token);
      const known = given.length === expected.length && crypto.timingSafeEqual(given, expected);
      if (!known || (stream !== 'events' && stream !== 'results')) {
        socket.destroy();
        return;
      }
      const rest = received.subarray(end + 1);
      if (rest.length > 0) socket.unshift(rest);
      this.#arrived[stream](socket);
    };
    socket.on('data', onData);
  }
}
