/**
 * A large torch_npu Db profile for the `ascend-db` bench cases: the db/level1 rank 0 fixture
 * copied into `destDir` and grown with SQL until its .db reaches `minBytes`. Each round doubles
 * the rows of the tables the reader uses (TASK, COMPUTE_TASK_INFO, TASK_PMU_INFO,
 * COMMUNICATION_OP, COMMUNICATION_TASK_INFO, CANN_API, PYTORCH_API, CONNECTION_IDS), the copy
 * shifted later in time by the span and with every id moved past the largest one, so the copy
 * is a second run of the same steps right after the first.
 *
 *   node dist/bench/ascend-db-tile.js SRC_PROFILE_DIR DEST_DIR MIN_BYTES
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';

type Sqlite = typeof import('node-sqlite3-wasm');
const { Database } = createRequire(import.meta.url)('node-sqlite3-wasm') as Sqlite;

/** Columns shifted per table: `t` time (ns), `g` globalTaskId, `c` CANN connection id, `l` list id, `o` opId. */
const SHIFTS: Record<string, Record<string, 't' | 'g' | 'c' | 'l' | 'o'>> = {
  TASK: { startNs: 't', endNs: 't', globalTaskId: 'g', connectionId: 'c' },
  COMPUTE_TASK_INFO: { globalTaskId: 'g' },
  TASK_PMU_INFO: { globalTaskId: 'g' },
  COMMUNICATION_OP: { startNs: 't', endNs: 't', connectionId: 'c', opId: 'o' },
  COMMUNICATION_TASK_INFO: { globalTaskId: 'g', opId: 'o' },
  CANN_API: { startNs: 't', endNs: 't', connectionId: 'c' },
  PYTORCH_API: { startNs: 't', endNs: 't', connectionId: 'l' },
  CONNECTION_IDS: { id: 'l', connectionId: 'c' },
};

export function tileProfileDb(srcProfile: string, destDir: string, minBytes: number): string {
  const srcOut = join(srcProfile, 'ASCEND_PROFILER_OUTPUT');
  const dbName = readdirSync(srcOut).find((f) => /^ascend_pytorch_profiler.*\.db$/.test(f))!;
  const root = join(destDir, basename(srcProfile));
  const out = join(root, 'ASCEND_PROFILER_OUTPUT');
  const file = join(out, dbName);
  if (existsSync(file) && statSync(file).size >= minBytes) return file;
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(srcProfile)) if (f.endsWith('.json')) cpSync(join(srcProfile, f), join(root, f));
  copyFileSync(join(srcOut, dbName), file);
  const db = new Database(file);
  try {
    const one = (sql: string): bigint => BigInt(String(Object.values(db.get(sql) ?? { v: 0 })[0] ?? 0));
    while (statSync(file).size < minBytes) {
      const t0 = one('SELECT MIN(startNs) FROM TASK');
      const t1 = one('SELECT MAX(endNs) FROM TASK');
      const d = {
        t: t1 - t0 + 1_000_000n,
        g: one('SELECT MAX(globalTaskId) FROM TASK') + 1n,
        c: [one('SELECT MAX(connectionId) FROM TASK'), one('SELECT MAX(connectionId) FROM CANN_API'), one('SELECT MAX(connectionId) FROM CONNECTION_IDS')].reduce((a, b) => (a > b ? a : b)) + 1n,
        l: one('SELECT MAX(id) FROM CONNECTION_IDS') + 1n,
        o: one('SELECT MAX(opId) FROM COMMUNICATION_OP') + 1n,
      };
      db.exec('BEGIN');
      for (const [table, shift] of Object.entries(SHIFTS)) {
        const cols = (db.all(`PRAGMA table_info(${table})`) as { name: string; type: string }[]);
        if (cols.length === 0) continue;
        const sel = cols.map((c) => {
          const k = shift[c.name];
          if (k === undefined) return `"${c.name}"`;
          const v = `CAST("${c.name}" AS INTEGER) + ${d[k]}`;
          return c.type.toUpperCase() === 'TEXT' ? `CAST(${v} AS TEXT)` : v;
        });
        db.exec(`INSERT INTO ${table} SELECT ${sel.join(', ')} FROM ${table}`);
      }
      db.exec('COMMIT');
    }
  } finally {
    db.close();
  }
  return file;
}

if (process.argv[1] && /ascend-db-tile\.js$/.test(process.argv[1])) {
  const [src, dest, min] = process.argv.slice(2);
  const f = tileProfileDb(src!, dest!, Number(min));
  process.stdout.write(`${f} (${statSync(f).size} bytes)\n`);
}
