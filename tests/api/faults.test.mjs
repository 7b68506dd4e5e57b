// Storage faults: a full disk (ENOSPC), failing writes (EIO) and failing
// fsyncs, injected under d1d's databases by the test-only fault VFS
// (src/faultvfs.c, switched on by D1D_FAULT_FILE; the control file says what
// to inject and is rewritten by the test at any moment).
//
// What must hold while a fault lasts: the request that meets it gets a clear
// error — 507 "Storage full" for ENOSPC, 500 "Storage failure" for I/O
// errors, both with the JSON envelope (5xx, so the SDK retries a bounded
// number of times: twice, see COMPAT.md) — and every other request, reads of
// the same database and reads and writes of other databases, is served as
// usual. Afterwards: once the fault is cleared the database takes writes
// again, every acknowledged row is there (and still there after kill -9 and
// a restart), nothing that failed was half-applied, and integrity_check
// says ok.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Cloudflare from 'cloudflare';
import { startServer, assertOk, assertErr, createDb, run, sleep } from './harness.mjs';

const FULL = { status: 507, code: 7500, msg: /^Storage full/ };
const IOERR = { status: 500, code: 7500, msg: /^Storage failure/ };

describe('storage faults', () => {
	let srv, dir, ctl, A, B;
	const acked = new Set(); // ids of rows in A whose INSERT was acknowledged
	const failed = new Set(); // ids whose INSERT got a storage error
	let nextId = 1;
	let injectedBefore = 0;

	/** Replace the control file (a new inode: the VFS sees the change). */
	function setFault(line) {
		fs.writeFileSync(`${ctl}.tmp`, `${line}\n`);
		fs.renameSync(`${ctl}.tmp`, ctl);
	}
	const injected = () => (srv.stderr().match(/^d1d: fault injected: /gm) ?? []).length;
	const q = (db, sql, params) =>
		srv.api('POST', `${srv.dbPath()}/${db}/query`, { body: params ? { sql, params } : { sql } });
	const expectErr = (res, e) => assertErr(res, e.status, e.code, e.msg);

	/** One INSERT of a fresh id into A; records the outcome. */
	async function insertA(expect) {
		const id = nextId++;
		const res = await q(A, 'INSERT INTO t(id, v) VALUES (?, ?)', [id, `row ${id}`]);
		if (res.status === 200) acked.add(id);
		else failed.add(id);
		if (expect === 'ok') assertOk(res);
		else if (expect) expectErr(res, expect);
		return res;
	}

	/** Reads of A, and reads and writes of B, are unaffected. */
	async function othersServed() {
		assertOk(await q(A, 'SELECT count(*) AS n FROM t'));
		assertOk(await q(B, 'INSERT INTO t(v) VALUES (?)', ['b']));
		assertOk(await q(B, 'SELECT count(*) AS n FROM t'));
		assertOk(await srv.api('GET', srv.dbPath()));
		assertOk(await srv.api('GET', `${srv.dbPath()}/${A}`));
	}

	before(async () => {
		dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-faults-'));
		ctl = path.join(dir, 'fault');
		setFault('off');
		srv = await startServer({ dataDir: path.join(dir, 'data'), env: { D1D_FAULT_FILE: ctl } });
		A = (await createDb(srv, 'faulty')).uuid;
		B = (await createDb(srv, 'healthy')).uuid;
		assertOk(await q(A, 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)'));
		assertOk(await q(B, 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)'));
		for (let i = 0; i < 5; i++) await insertA('ok');
	});

	after(async () => {
		if (srv) await srv.stop().catch(() => {});
		await fsp.rm(dir, { recursive: true, force: true });
	});

	test('without a fault file line, nothing is injected', () => {
		assert.match(srv.stderr(), /test mode: injecting storage faults/);
		assert.equal(injected(), 0);
	});

	test('ENOSPC on one database: its writes get 507 Storage full; everything else is served', async () => {
		setFault(`enospc path ${A}`);
		injectedBefore = injected();
		await insertA(FULL);
		// A multi-statement write and a batch fail whole.
		const id = nextId++;
		expectErr(await q(A, `INSERT INTO t VALUES (${id}, 'a'); INSERT INTO t VALUES (${id + 1}, 'b')`), FULL);
		failed.add(id).add(id + 1);
		nextId++;
		await othersServed();
		await insertA(FULL);
		assert.ok(injected() > injectedBefore, 'the VFS injected the fault');
	});

	test('ENOSPC while a large write spills its cache: 507, and other writers of the group fail cleanly or commit', async () => {
		// 3000 rows of 3 kB are more than the writer's page cache, so
		// SQLite writes pages to the WAL in the middle of the statement.
		const big = "INSERT INTO t(id, v) WITH RECURSIVE g(x) AS (SELECT 1000000 UNION ALL SELECT x + 1 FROM g WHERE x < 1003000) SELECT x, hex(randomblob(1500)) FROM g";
		const results = await Promise.all([q(A, big), insertA(), insertA()]);
		expectErr(results[0], FULL);
		for (const r of results.slice(1)) assert.ok(r.status === 200 || r.status === 507, `status ${r.status}: ${r.text}`);
		for (const r of results.slice(1)) if (r.status === 507) expectErr(r, FULL);
		const n = assertOk(await q(A, 'SELECT count(*) AS n FROM t WHERE id >= 1000000'))[0].results[0].n;
		assert.equal(n, 0, 'nothing of the failed large write is visible');
	});

	test('the SDK gives up on a 507 after its bounded retries', async () => {
		const client = new Cloudflare({ apiToken: srv.token, baseURL: srv.baseURL, maxRetries: 2 });
		const mark = srv.stderr().length;
		const t0 = Date.now();
		let err;
		try {
			await client.d1.database.query(A, { account_id: srv.account.id, sql: "INSERT INTO t(v) VALUES ('sdk')" });
		} catch (e) {
			err = e;
		}
		assert.ok(err instanceof Cloudflare.APIError, `expected an APIError, got ${err}`);
		assert.equal(err.status, 507);
		assert.match(String(err.errors?.[0]?.message), /^Storage full/);
		// A request's log line is written once its answer is sent, so the
		// last one may trail the SDK's rejection by a moment.
		const tries = () => (srv.stderr().slice(mark).match(/ POST \S+\/query 507 /g) ?? []).length;
		await srv.waitStderr(() => tries() >= 3, 5000);
		await sleep(100);
		assert.equal(tries(), 3, 'one try and two retries');
		assert.ok(Date.now() - t0 < 20000);
	});

	test('space returns: writes to the database succeed again', async () => {
		setFault('off');
		await insertA('ok');
		await insertA('ok');
	});

	test('ENOSPC after N bytes under 8 concurrent writers: every request succeeds or gets 507, and all recover', async () => {
		let stop = false;
		const statuses = new Map();
		const writers = Array.from({ length: 8 }, async () => {
			while (!stop) {
				const r = await insertA();
				statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
				if (r.status !== 200) expectErr(r, FULL);
			}
		});
		await sleep(150);
		const before = injected();
		setFault(`enospc after 20000 path ${A}`);
		await sleep(600);
		await othersServed();
		setFault('off');
		await sleep(150);
		stop = true;
		await Promise.all(writers);
		assert.ok(injected() > before, 'faults were injected');
		assert.ok((statuses.get(507) ?? 0) > 0, `some writes met the full disk: ${JSON.stringify([...statuses])}`);
		assert.deepEqual([...statuses.keys()].sort(), [200, 507]);
		await insertA('ok');
	});

	test('a write error (EIO) fails one commit with 500 Storage failure; the next write succeeds', async () => {
		setFault(`eio times 1 path ${A}`);
		await insertA(IOERR);
		await insertA('ok');
		await othersServed();
	});

	test('a failing fsync fails the commit with 500 Storage failure; reads go on; it recovers', async () => {
		setFault(`fsync path ${A}`);
		await insertA(IOERR);
		// DDL in a commit that fails is rolled back with it: the writer
		// must not go on believing in the index (rows_written counts it).
		const id = nextId++;
		expectErr(await q(A, `CREATE INDEX t_v ON t(v); INSERT INTO t VALUES (${id}, 'x')`), IOERR);
		failed.add(id);
		await othersServed();
		setFault('off');
		const res = await insertA('ok');
		assert.equal(res.json.result[0].meta.rows_written, 1, 'no index: one row, no index entry');
		const idx = assertOk(await q(A, "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'index' AND tbl_name = 't'"));
		assert.equal(idx[0].results[0].n, 0);
	});

	test('ENOSPC on the catalog: creating a database gets 507; listing and queries go on; it recovers', async () => {
		setFault('enospc path catalog');
		const name = 'made-when-full';
		expectErr(await srv.api('POST', srv.dbPath(), { body: { name } }), FULL);
		await othersServed();
		await insertA('ok'); // the database's own files are not full
		setFault('off');
		const list = assertOk(await srv.api('GET', srv.dbPath()));
		assert.ok(!list.some((d) => d.name === name), 'the failed create left no database behind');
		assert.ok(!fs.readdirSync(path.join(srv.dataDir, 'databases')).some((u) => ![A, B].includes(u)), 'no stray database directory');
		const d = assertOk(await srv.api('POST', srv.dbPath(), { body: { name } }));
		assertOk(await srv.api('DELETE', `${srv.dbPath()}/${d.uuid}`));
	});

	test('ENOSPC everywhere: creates and writes get 507, reads go on; it recovers', async () => {
		setFault('enospc');
		expectErr(await srv.api('POST', srv.dbPath(), { body: { name: 'full-everywhere' } }), FULL);
		await insertA(FULL);
		expectErr(await q(B, "INSERT INTO t(v) VALUES ('b')"), FULL);
		assertOk(await q(A, 'SELECT count(*) AS n FROM t'));
		assertOk(await q(B, 'SELECT count(*) AS n FROM t'));
		assertOk(await srv.api('GET', srv.dbPath()));
		setFault('off');
		await insertA('ok');
		assert.ok(!fs.readdirSync(path.join(srv.dataDir, 'databases')).some((u) => ![A, B].includes(u)), 'no stray database directory');
	});

	test('every acknowledged row is there, nothing failed is, and quick_check is ok', async () => {
		const rows = assertOk(await q(A, 'SELECT id FROM t ORDER BY id'))[0].results.map((r) => r.id);
		const present = new Set(rows);
		assert.deepEqual([...acked].filter((id) => !present.has(id)), [], 'acknowledged rows lost');
		assert.deepEqual(rows.filter((id) => !acked.has(id)), [], 'rows that were not acknowledged are visible');
		assert.deepEqual(assertOk(await q(A, 'PRAGMA quick_check'))[0].results, [{ quick_check: 'ok' }]);
		process.stderr.write(`faults: ${injected()} injected, ${acked.size} writes acknowledged, ${failed.size} failed\n`);
	});

	test('after kill -9 and a restart: every acknowledged row is there and integrity_check is ok', async () => {
		const dataDir = srv.dataDir;
		const account = srv.account;
		const exited = new Promise((r) => srv.child.once('exit', r));
		srv.child.kill('SIGKILL');
		await exited;
		srv = await startServer({ dataDir, accounts: [] });
		srv.account = account;
		srv.token = account.tokens.rw;
		const rows = assertOk(await q(A, 'SELECT id FROM t'))[0].results.map((r) => r.id);
		const present = new Set(rows);
		assert.deepEqual([...acked].filter((id) => !present.has(id)), [], 'acknowledged rows lost after kill -9');
		// A failed fsync leaves its frames in the WAL, so after a crash
		// such a write may reappear; nothing that was never sent may.
		assert.ok(rows.every((id) => id < nextId), 'rows that no request wrote');
		assertOk(await q(A, "INSERT INTO t(v) VALUES ('after restart')"));
		await srv.stop();
		for (const uuid of [A, B]) {
			const file = path.join(dataDir, 'databases', uuid, 'db.sqlite');
			const r = await run('sqlite3', [file, 'PRAGMA integrity_check']);
			assert.equal(r.stdout.trim(), 'ok', `integrity_check of ${uuid}: ${r.stdout}${r.stderr}`);
		}
		srv = null;
	});
});

// The time-travel history is written by d1d itself, not through SQLite; the
// fault file reaches it too (faultvfs_io). A commit whose capture fails is
// still durable in the WAL: its request succeeds, no checkpoint runs, and
// the next capture takes it. A restore whose journal cannot be written
// fails and changes nothing.
describe('storage faults in the time-travel history', () => {
	let srv, dir, ctl, C, acct, token;
	function setFault(line) {
		fs.writeFileSync(`${ctl}.tmp`, `${line}\n`);
		fs.renameSync(`${ctl}.tmp`, ctl);
	}
	// The account and token outlive a restart (which creates none).
	const base = () => `${srv.dbPath(acct)}/${C}`;
	const raw = async (sql) => assertOk(await srv.api('POST', `${base()}/raw`, { token, body: { sql } }))[0].results.rows;
	const bookmark = async () => assertOk(await srv.api('GET', `${base()}/time_travel/bookmark`, { token })).bookmark;
	const restore = (bm) => srv.api('POST', `${base()}/time_travel/restore?bookmark=${bm}`, { token, body: '' });

	before(async () => {
		dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-faults-tt-'));
		ctl = path.join(dir, 'fault');
		setFault('off');
		srv = await startServer({ dataDir: path.join(dir, 'data'), env: { D1D_FAULT_FILE: ctl } });
		acct = srv.account.id;
		token = srv.token;
		C = (await createDb(srv, 'tt-faulty')).uuid;
		await raw('CREATE TABLE t(id INTEGER PRIMARY KEY)');
	});
	after(async () => {
		if (srv) await srv.stop().catch(() => {});
		await fsp.rm(dir, { recursive: true, force: true });
	});

	test('a full disk under the history: writes go on, the history catches up, every point restores', async () => {
		const bm0 = await bookmark();
		setFault('enospc path history/log');
		for (let i = 1; i <= 5; i++) await raw(`INSERT INTO t VALUES (${i})`);
		assert.ok(await srv.waitStderr((s) => /fault injected: enospc on .*history\/log/.test(s)), 'no fault was injected');
		setFault('off');
		await raw('INSERT INTO t VALUES (6)');
		const bm6 = await bookmark();
		assert.ok(bm6 > bm0);
		assert.deepEqual(await raw('SELECT count(*) FROM t'), [[6]]);
		const r = assertOk(await restore(bm0));
		assert.deepEqual(await raw('SELECT count(*) FROM t'), [[0]]);
		assertOk(await restore(r.previous_bookmark));
		assert.deepEqual(await raw('SELECT count(*) FROM t'), [[6]]);
		// The commits made during the fault each have their own point.
		assertOk(await restore(bm6));
		assert.deepEqual(await raw('SELECT count(*) FROM t'), [[6]]);
	});

	test('a restore whose journal cannot be written fails and changes nothing', async () => {
		const bm = await bookmark();
		await raw('INSERT INTO t VALUES (7)');
		setFault('enospc path restore.journal');
		assertErr(await restore(bm), 507, 7500, /^Storage full/);
		assert.deepEqual(await raw('SELECT count(*) FROM t'), [[7]]);
		setFault('off');
		assertOk(await restore(bm));
		assert.deepEqual(await raw('SELECT count(*) FROM t'), [[6]]);
		assert.deepEqual(await raw('PRAGMA quick_check'), [['ok']]);
	});

	test('a restore that shrinks the file and cannot record itself is undone whole', async () => {
		const bm = await bookmark();
		const rows = await raw('SELECT count(*) FROM t');
		// The file grows well past the size it has at bm...
		await raw('CREATE TABLE big(v BLOB)');
		await raw('INSERT INTO big SELECT randomblob(1000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) SELECT x FROM c)');
		const sum = await raw('SELECT count(*), sum(length(v)), max(hex(substr(v, 1, 8))) FROM big');
		// ...so the restore cuts it; then its record cannot be appended, and
		// the journal must put back the pages past the cut too.
		setFault('enospc path history/log');
		assertErr(await restore(bm), 507, 7500, /^Storage full/);
		setFault('off');
		assert.deepEqual(await raw('PRAGMA quick_check'), [['ok']]);
		assert.deepEqual(await raw('SELECT count(*), sum(length(v)), max(hex(substr(v, 1, 8))) FROM big'), sum);
		assert.deepEqual(await raw('SELECT count(*) FROM t'), rows);
		await raw('DROP TABLE big');
	});

	test('after a restart every point still restores', async () => {
		const bm = await bookmark();
		await srv.stop();
		srv = await startServer({ dataDir: path.join(dir, 'data'), accounts: [], env: { D1D_FAULT_FILE: ctl } });
		assert.equal(await bookmark(), bm);
		assert.deepEqual(await raw('SELECT count(*) FROM t'), [[6]]);
		assert.deepEqual(await raw('PRAGMA quick_check'), [['ok']]);
	});
});
