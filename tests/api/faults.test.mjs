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
import crypto from 'node:crypto';
import Cloudflare from 'cloudflare';
import { startServer, assertOk, assertErr, createDb, run, sleep, wrangler, wranglerDesc } from './harness.mjs';

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
		// The previous test's requests have been answered, but their log
		// lines (written once an answer is sent) may still be coming: wait
		// for the log to settle before counting from here.
		let mark = -1;
		while (srv.stderr().length !== mark) {
			mark = srv.stderr().length;
			await sleep(200);
		}
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
		await srv.kill9();
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

// Exports and uploads are files d1d writes itself (dump.c, api_import.c);
// the fault file reaches them through faultvfs_write/faultvfs_fsync, and
// an import's apply goes through SQLite and so through the fault VFS. Each
// fault must end in a clear error, leave no partial file, leave the
// database exactly as it was, and give way to a retry once it is cleared.
describe('storage faults in exports and imports', () => {
	let srv, dir, ctl, E;
	function setFault(line) {
		fs.writeFileSync(`${ctl}.tmp`, `${line}\n`);
		fs.renameSync(`${ctl}.tmp`, ctl);
	}
	const injected = () => (srv.stderr().match(/^d1d: fault injected: /gm) ?? []).length;
	const md5 = (buf) => crypto.createHash('md5').update(buf).digest('hex');
	const base = (db) => `${srv.dbPath()}/${db}`;
	const raw = async (db, sql) => assertOk(await srv.api('POST', `${base(db)}/raw`, { body: { sql } }))[0].results.rows;
	const bookmark = async (db) => assertOk(await srv.api('GET', `${base(db)}/time_travel/bookmark`)).bookmark;
	// A bookmark's first two fields are its commit's sequence number.
	const seq = (bm) => parseInt(bm.slice(0, 8), 16) * 2 ** 32 + parseInt(bm.slice(9, 17), 16);
	/** Everything in t, hashed with exact values. */
	const hash = async (db) => {
		const rows = await raw(db, "SELECT id, quote(v) FROM t ORDER BY id");
		const schema = await raw(db, "SELECT type, name, sql FROM sqlite_schema ORDER BY name");
		return crypto.createHash('sha256').update(JSON.stringify([schema, rows])).digest('hex');
	};
	const files = (kind) => fs.readdirSync(path.join(srv.dataDir, kind));

	/** An export as wrangler runs it: the first request, then polls. */
	async function exportDb(db) {
		const body = { output_format: 'polling', dump_options: { no_data: false, no_schema: false } };
		let r = assertOk(await srv.api('POST', `${base(db)}/export`, { body }));
		const at = r.at_bookmark;
		for (let i = 0; r.status === 'active' && i < 120; i++)
			r = assertOk(await srv.api('POST', `${base(db)}/export`, { body: { ...body, current_bookmark: at } }));
		return r;
	}
	async function exportFails(db, re) {
		const had = files('exports');
		const r = await exportDb(db);
		assert.equal(r.status, 'error', JSON.stringify(r));
		assert.equal(r.success, false);
		assert.match(r.error, re);
		assert.ok(r.messages.some((m) => re.test(m)), JSON.stringify(r.messages));
		assert.deepEqual(files('exports'), had, 'the partial export file was removed');
	}

	/** The upload of init's URL; returns the PUT's {status, json, etag}. */
	async function upload(db, sql) {
		const etag = md5(sql);
		const init = assertOk(await srv.api('POST', `${base(db)}/import`, { body: { action: 'init', etag } }));
		assert.ok(init.upload_url, `init wants an upload: ${JSON.stringify(init)}`);
		const res = await fetch(init.upload_url, { method: 'PUT', body: sql });
		const text = await res.text();
		return { status: res.status, text, json: JSON.parse(text), etag, filename: init.filename };
	}
	async function ingest(db, etag, filename) {
		let r = assertOk(await srv.api('POST', `${base(db)}/import`, { body: { action: 'ingest', etag, filename } }));
		for (let i = 0; r.status === 'active' && i < 120; i++)
			r = assertOk(await srv.api('POST', `${base(db)}/import`, { body: { action: 'poll', current_bookmark: r.at_bookmark } }));
		return r;
	}
	/** A PUT that meets the fault: the error, and nothing left behind. */
	async function uploadFails(db, sql, e) {
		const u = await upload(db, sql);
		assert.equal(u.status, e.status, u.text);
		assert.equal(u.json.success, false, u.text);
		assert.equal(u.json.errors[0].code, e.code, u.text);
		assert.match(u.json.errors[0].message, e.msg);
		assert.deepEqual(files('imports').filter((f) => f.includes(u.etag)), [], 'no file of the failed upload is left');
		// init asks for the upload again: nothing counts as the file.
		setFault('off');
		const init = assertOk(await srv.api('POST', `${base(db)}/import`, { body: { action: 'init', etag: u.etag } }));
		assert.ok(init.upload_url, `init after a failed upload: ${JSON.stringify(init)}`);
		assertErr(await srv.api('POST', `${base(db)}/import`, { body: { action: 'ingest', etag: u.etag, filename: u.filename } }), 400, 7400, /No file has been uploaded/);
	}

	// 3000 rows of 1 kB: an export of 3 MB, written in several pieces.
	const FILL = "INSERT INTO t(id, v) WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 3000) SELECT x, hex(randomblob(500)) FROM g";
	const importSql = (from, n) => {
		let s = '';
		for (let i = from; i < from + n; i++) s += `INSERT INTO t(id, v) VALUES (${i}, '${'x'.repeat(400)}-${i}');\n`;
		return s;
	};

	before(async () => {
		dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-faults-io-'));
		ctl = path.join(dir, 'fault');
		setFault('off');
		srv = await startServer({ dataDir: path.join(dir, 'data'), env: { D1D_FAULT_FILE: ctl } });
		E = (await createDb(srv, 'io-faulty')).uuid;
		await raw(E, 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
		await raw(E, FILL);
	});
	after(async () => {
		if (srv) await srv.stop().catch(() => {});
		await fsp.rm(dir, { recursive: true, force: true });
	});

	test('ENOSPC during an export: the job ends in error "Storage full", no file is left, queries go on; the retry is right', async () => {
		const before = injected();
		setFault('enospc path exports/');
		await exportFails(E, /^Storage full/);
		assert.ok(injected() > before, 'the fault was injected');
		await raw(E, "INSERT INTO t(id, v) VALUES (5000, 'during the fault')");
		assert.deepEqual(await raw(E, 'SELECT count(*) FROM t'), [[3001]]);
		setFault('off');
		const r = await exportDb(E);
		assert.equal(r.status, 'complete', JSON.stringify(r));
		const res = await fetch(r.result.signed_url);
		assert.equal(res.status, 200);
		const sql = await res.text();
		// The file, read back by the sqlite3 shell, holds exactly the rows.
		const copy = path.join(dir, 'copy.sqlite');
		// (In one transaction: 3001 commits of their own take seconds.)
		const sh = await run('sqlite3', [copy], { input: `BEGIN;\n${sql}COMMIT;\n`, timeout: 60000 });
		assert.equal(sh.code, 0, sh.stderr);
		const q = await run('sqlite3', [copy, "SELECT id || ':' || v FROM t ORDER BY id"]);
		const live = (await raw(E, "SELECT id || ':' || v FROM t ORDER BY id")).map((r) => r[0]);
		assert.equal(live.length, 3001);
		assert.equal(q.stdout, live.map((l) => `${l}\n`).join(''), 'the exported rows are the rows');
	});

	test('EIO in the middle of an export (after 1 MB): "Storage failure", the partial file removed; the retry completes', async () => {
		setFault('eio after 1100000 times 1 path exports/');
		await exportFails(E, /^Storage failure/);
		assert.ok(/fault injected: eio on .*exports\//.test(srv.stderr()));
		const r = await exportDb(E);
		assert.equal(r.status, 'complete', JSON.stringify(r));
		const sql = await (await fetch(r.result.signed_url)).text();
		assert.equal(sql.match(/^INSERT INTO "t" /gm).length, 3001);
		assert.ok(sql.endsWith(`VALUES(5000,'during the fault');\n`), sql.slice(-200));
	});

	test('wrangler d1 export on a full disk fails with the message', async () => {
		setFault('enospc path exports/');
		const w = await wrangler(['d1', 'export', 'io-faulty', '--remote', '--output', path.join(dir, 'w.sql'), '-y'], srv.wranglerEnv());
		setFault('off');
		assert.notEqual(w.code, 0, wranglerDesc(w));
		assert.match(w.stdout + w.stderr, /Storage full/);
		assert.ok(!fs.existsSync(path.join(dir, 'w.sql')));
		assert.deepEqual(files('exports').filter((f) => f.endsWith('.part')), []);
	});

	test('ENOSPC during the upload PUT: 507 "Storage full", no partial file init would accept; the retry works', async () => {
		const sql = importSql(10000, 4000); // 1.6 MB: many pieces
		setFault('enospc after 300000 path imports/');
		await uploadFails(E, sql, FULL);
		const u = await upload(E, sql);
		assert.equal(u.status, 200, u.text);
		assert.equal(u.json.result.etag, u.etag);
	});

	test('EIO during the upload PUT, and a failing fsync of it: 500 "Storage failure", nothing left; the retry works', async () => {
		const sql = importSql(20000, 500);
		setFault('eio times 1 path imports/');
		await uploadFails(E, sql, IOERR);
		setFault('fsync path imports/');
		await uploadFails(E, sql, IOERR);
		const u = await upload(E, sql);
		assert.equal(u.status, 200, u.text);
		const r = await ingest(E, u.etag, u.filename);
		assert.equal(r.status, 'complete', JSON.stringify(r));
		assert.equal(r.result.num_queries, 500);
	});

	for (const [what, line, re] of [
		['ENOSPC', 'enospc path databases', /^Storage full/],
		['EIO on a write', 'eio times 1 path databases', /^Storage failure/],
		['a failing fsync at its commit', 'fsync path databases', /^Storage failure/],
	]) {
		test(`${what} during an import's apply: the import fails clearly, the database is exactly as before; the retry is one commit`, async () => {
			const D = (await createDb(srv, `io-apply-${what.replace(/\W+/g, '-')}`)).uuid;
			await raw(D, 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
			await raw(D, FILL);
			const h0 = await hash(D);
			const bm0 = await bookmark(D);
			// 4 MB of rows: twice the writer's cache, so SQLite
			// writes to the WAL in the middle of the import too.
			const sql = importSql(100000, 10000);
			let u = await upload(D, sql);
			assert.equal(u.status, 200, u.text);
			const before = injected();
			setFault(`${line}/${D}`);
			const r = await ingest(D, u.etag, u.filename);
			setFault('off');
			assert.ok(injected() > before, 'the fault was injected');
			assert.equal(r.status, 'error', JSON.stringify(r));
			assert.equal(r.success, false);
			assert.match(r.error, re);
			assert.match(r.error, /nothing was imported/);
			assert.equal(await hash(D), h0, 'the database is exactly as before');
			assert.equal(await bookmark(D), bm0, 'no commit was made');
			assert.deepEqual(await raw(D, 'PRAGMA quick_check'), [['ok']]);
			// Writes are taken again, and undone so that the retry starts
			// from the same state.
			await raw(D, "INSERT INTO t(id, v) VALUES (-1, 'x')");
			await raw(D, 'DELETE FROM t WHERE id = -1');
			const bm1 = await bookmark(D);
			// The upload went with the failed import: upload it again.
			u = await upload(D, sql);
			assert.equal(u.status, 200, u.text);
			const ok = await ingest(D, u.etag, u.filename);
			assert.equal(ok.status, 'complete', JSON.stringify(ok));
			assert.equal(ok.result.num_queries, 10000);
			assert.equal(seq(ok.result.final_bookmark), seq(bm1) + 1, 'the import is one commit');
			assert.equal(await bookmark(D), ok.result.final_bookmark);
			assert.deepEqual(await raw(D, 'SELECT count(*) FROM t'), [[13000]]);
			// Time travel back to before the import gives the old state.
			assertOk(await srv.api('POST', `${base(D)}/time_travel/restore?bookmark=${bm1}`, { body: '' }));
			assert.equal(await hash(D), h0);
			assertOk(await srv.api('DELETE', base(D)));
		});
	}

	test('wrangler d1 execute --file on a full disk fails with the message; the database is as before', async () => {
		const h0 = await hash(E);
		const file = path.join(dir, 'imp.sql');
		fs.writeFileSync(file, importSql(200000, 3000));
		setFault(`enospc path databases/${E}`);
		const w = await wrangler(['d1', 'execute', 'io-faulty', '--remote', '--file', file, '-y'], srv.wranglerEnv());
		setFault('off');
		assert.notEqual(w.code, 0, wranglerDesc(w));
		assert.match(w.stdout + w.stderr, /Storage full/);
		assert.equal(await hash(E), h0);
		const w2 = await wrangler(['d1', 'execute', 'io-faulty', '--remote', '--file', file, '-y'], srv.wranglerEnv());
		assert.equal(w2.code, 0, wranglerDesc(w2));
		assert.deepEqual(await raw(E, 'SELECT count(*) FROM t WHERE id >= 200000'), [[3000]]);
		process.stderr.write(`faults in exports and imports: ${injected()} injected\n`);
	});
});
