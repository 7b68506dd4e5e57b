// Export and import (COMPAT.md §1 "Import flow", "Export flow", §2 "Export
// format"): wrangler `d1 export --remote` and `d1 execute --remote --file`,
// the SDK's export/import, round trips of every kind of content (FTS5 and
// rtree included), atomicity, the sandbox, signed URLs, pacing and
// cancellation, and that the database stays available meanwhile.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { useServer, startServer, assertOk, assertErr, createDb, uniqueName, wrangler, wranglerDesc, run, sleep } from './harness.mjs';

const md5 = (buf) => crypto.createHash('md5').update(buf).digest('hex');
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

const RICH = `
CREATE TABLE vals (id INTEGER PRIMARY KEY AUTOINCREMENT, i INTEGER, r REAL, t TEXT, b BLOB, n);
INSERT INTO vals (i, r, t, b, n) VALUES
  (9007199254740993, 1.0, 'it''s', x'00ff10', NULL),
  (-9223372036854775808, 0.1, 'line1' || char(10) || 'line2' || char(13) || char(10) || 'end', x'', 'x'),
  (9223372036854775807, 1e300, 'back\\n slash \\r and ''quotes''', NULL, 1.5),
  (0, -2.5e-300, '', x'deadbeef', 42),
  (12, 3.141592653589793, 'üñíçødé ✓ "dq"', zeroblob(3), -0.0);
INSERT INTO vals (i, t) VALUES (1, 'nul' || char(0) || 'inside');
CREATE TABLE gaps (a TEXT, b INTEGER);
INSERT INTO gaps (rowid, a, b) VALUES (5, 'five', 5), (17, 'seventeen', 17), (1000, 'k', 1000);
CREATE TABLE wr (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
INSERT INTO wr VALUES ('b', 2), ('a', 1);
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT UNIQUE);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), note TEXT);
INSERT INTO parent VALUES (1, 'p1'), (2, 'p2');
INSERT INTO child VALUES (1, 1, 'c1'), (2, 2, 'c2');
CREATE INDEX child_parent ON child(parent_id);
CREATE UNIQUE INDEX vals_i ON vals(i) WHERE i IS NOT NULL;
CREATE TABLE log (msg TEXT);
CREATE TRIGGER child_ai AFTER INSERT ON child BEGIN INSERT INTO log VALUES ('child ' || NEW.id || '; ok'); END;
CREATE VIEW child_names AS SELECT c.id, p.name FROM child c JOIN parent p ON p.id = c.parent_id;
CREATE TRIGGER child_names_ins INSTEAD OF INSERT ON child_names BEGIN INSERT INTO parent (name) VALUES (NEW.name); END;
INSERT INTO child VALUES (3, 1, 'c3');
CREATE VIRTUAL TABLE docs_fts USING fts5(title, body);
INSERT INTO docs_fts (rowid, title, body) VALUES (10, 'hello', 'the quick brown fox'), (20, 'bye', 'jumps over; the lazy dog');
CREATE TABLE articles (id INTEGER PRIMARY KEY, body TEXT);
INSERT INTO articles VALUES (1, 'external content alpha'), (2, 'external content beta');
CREATE VIRTUAL TABLE articles_fts USING fts5(body, content='articles', content_rowid='id');
INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');
CREATE VIRTUAL TABLE docs_vocab USING fts5vocab('docs_fts', 'row');
CREATE VIRTUAL TABLE boxes USING rtree(id, minx, maxx, miny, maxy);
INSERT INTO boxes VALUES (1, 0, 10, 0, 10), (2, 5.5, 6.5, -1, 1);
`;

/** Everything a database holds, as comparable figures: the schema and,
 * per table (shadow tables aside), a hash of its rows with exact values. */
async function contents(srv, uuid) {
	const raw = async (sql) => assertOk(await srv.api('POST', `${srv.dbPath()}/${uuid}/raw`, { body: { sql } }))[0].results.rows;
	const schema = await raw("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name");
	const tables = await raw("SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'virtual') AND name NOT IN ('sqlite_schema', 'sqlite_temp_schema') ORDER BY name");
	const out = { schema, tables: {} };
	for (const [name, type, wr] of tables) {
		const cols = (await raw(`SELECT name FROM pragma_table_info('${name.replace(/'/g, "''")}')`)).map((r) => r[0]);
		const exact = (c) => `typeof(${c}) || ':' || CASE WHEN typeof(${c}) = 'real' THEN printf('%!.17g', ${c}) ELSE quote(${c}) END`;
		const q = (c) => `"${c.replace(/"/g, '""')}"`;
		const isRtree = /rtree/i.test(schema.find((s) => s[1] === name)?.[3] ?? '');
		const isVocab = /fts5vocab/i.test(schema.find((s) => s[1] === name)?.[3] ?? '');
		const withRowid = (type === 'table' && !wr) || (type === 'virtual' && !isRtree && !isVocab);
		const exprs = [...(withRowid ? ['rowid'] : []), ...cols.map(q)].map(exact).join(', ');
		const rows = await raw(`SELECT ${exprs} FROM ${q(name)} ORDER BY 1, 2`);
		out.tables[name] = { n: rows.length, hash: sha(JSON.stringify(rows)) };
	}
	return out;
}

/** Export through the SDK, polling as wrangler does. */
async function sdkExport(c, accountId, uuid, dump_options) {
	const base = { account_id: accountId, output_format: 'polling', ...(dump_options ? { dump_options } : {}) };
	let r = await c.d1.database.export(uuid, base);
	assert.equal(r.type, 'export');
	assert.match(r.at_bookmark, /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/);
	const at = r.at_bookmark;
	for (let i = 0; r.status === 'active' && i < 300; i++) {
		r = await c.d1.database.export(uuid, { ...base, current_bookmark: at });
		assert.equal(r.at_bookmark, at, 'at_bookmark never changes');
	}
	return r;
}

/** Import through the SDK: init, PUT, ingest, poll. */
async function sdkImport(c, accountId, uuid, sql) {
	const etag = md5(sql);
	const init = await c.d1.database.import(uuid, { account_id: accountId, action: 'init', etag });
	let r = init;
	if (init.upload_url) {
		const put = await fetch(init.upload_url, { method: 'PUT', body: sql });
		assert.equal(put.status, 200, await put.text());
		assert.equal(put.headers.get('etag').replace(/"/g, ''), etag);
		r = await c.d1.database.import(uuid, { account_id: accountId, action: 'ingest', etag, filename: init.filename });
	}
	for (let i = 0; r.status === 'active' && i < 300; i++)
		r = await c.d1.database.import(uuid, { account_id: accountId, action: 'poll', current_bookmark: r.at_bookmark });
	return r;
}

describe('export and import', () => {
	const h = useServer({ accounts: [{ name: 'io', email: 'io@example.com' }] });
	const env = () => h.srv.wranglerEnv();
	const query = (uuid, sql) => h.srv.api('POST', `${h.srv.dbPath()}/${uuid}/query`, { body: { sql } });
	const rows = async (uuid, sql) => assertOk(await query(uuid, sql)).at(-1).results;
	let dir;
	before(async () => {
		dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-io-'));
	});
	after(async () => {
		if (dir) await fsp.rm(dir, { recursive: true, force: true });
	});

	test('wrangler export → wrangler execute --file gives identical content (all value types, FTS5, rtree, triggers, views)', async () => {
		const src = await createDb(h.srv, uniqueName('src'));
		assertOk(await query(src.uuid, RICH));
		const file = path.join(dir, 'rich.sql');
		const w = await wrangler(['d1', 'export', src.name, '--remote', '--output', file, '-y'], env());
		assert.equal(w.code, 0, wranglerDesc(w));
		const sql = await fsp.readFile(file, 'utf8');
		assert.ok(sql.startsWith('PRAGMA defer_foreign_keys=TRUE;\n'), sql.slice(0, 200));
		assert.ok(!/docs_fts_(data|idx|content|docsize|config)/.test(sql), 'no shadow tables in the export');
		assert.match(sql, /INSERT INTO "vals" \("id","i","r","t","b","n"\) VALUES\(1,9007199254740993,1\.0,'it''s',X'00ff10',NULL\);/);
		assert.match(sql, /DELETE FROM sqlite_sequence;\nINSERT INTO "sqlite_sequence"/);
		assert.match(sql, /INSERT INTO "articles_fts"\("articles_fts"\) VALUES\('rebuild'\);\n$/);

		const dst = await createDb(h.srv, uniqueName('dst'));
		const w2 = await wrangler(['d1', 'execute', dst.name, '--remote', '--file', file, '-y'], env());
		assert.equal(w2.code, 0, wranglerDesc(w2));
		assert.match(w2.stdout, /Starting import\.\.\./);
		assert.match(w2.stdout, /Executed \d+ queries in [\d.]+ms \(\d+ rows read, \d+ rows written\)/);
		assert.deepEqual(await contents(h.srv, dst.uuid), await contents(h.srv, src.uuid));
		assert.deepEqual(await rows(dst.uuid, "SELECT rowid, title FROM docs_fts WHERE docs_fts MATCH 'lazy'"), [{ rowid: 20, title: 'bye' }]);
		assert.deepEqual(await rows(dst.uuid, "SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'beta'"), [{ rowid: 2 }]);
		assert.deepEqual(await rows(dst.uuid, 'SELECT id FROM boxes WHERE minx <= 6 AND maxx >= 6 ORDER BY id'), [{ id: 1 }, { id: 2 }]);
		// the triggers work in the copy
		assertOk(await query(dst.uuid, "INSERT INTO child VALUES (4, 2, 'c4'); INSERT INTO child_names (id, name) VALUES (0, 'p3')"));
		assert.deepEqual(await rows(dst.uuid, "SELECT count(*) AS n FROM log WHERE msg = 'child 4; ok'"), [{ n: 1 }]);
	});

	test('wrangler export --no-data, --no-schema and --table', async () => {
		const src = await createDb(h.srv, uniqueName('opts'));
		assertOk(await query(src.uuid, RICH));
		const out = async (args) => {
			const file = path.join(dir, `${uniqueName('o')}.sql`);
			const w = await wrangler(['d1', 'export', src.name, '--remote', '--output', file, '-y', ...args], env());
			assert.equal(w.code, 0, wranglerDesc(w));
			return fsp.readFile(file, 'utf8');
		};
		const noData = await out(['--no-data']);
		assert.match(noData, /CREATE TABLE vals/);
		assert.match(noData, /CREATE VIRTUAL TABLE docs_fts/);
		assert.doesNotMatch(noData, /^INSERT INTO/m);
		const noSchema = await out(['--no-schema']);
		assert.doesNotMatch(noSchema, /^CREATE /m);
		assert.match(noSchema, /INSERT INTO "vals"/);
		assert.match(noSchema, /INSERT INTO "docs_fts" \(rowid,"title","body"\)/);
		const one = await out(['--table', 'child']);
		assert.match(one, /CREATE TABLE child/);
		assert.match(one, /INSERT INTO "child"/);
		assert.match(one, /CREATE INDEX child_parent/);
		assert.match(one, /CREATE TRIGGER child_ai/);
		assert.doesNotMatch(one, /vals|parent \(|docs_fts/);
		const two = await out(['--table', 'parent', '--table', 'wr']);
		assert.match(two, /INSERT INTO "wr"/);
		assert.match(two, /INSERT INTO "parent"/);
		assert.doesNotMatch(two, /"child"/);
		// a schema-only export imports into an empty database
		const dst = await createDb(h.srv, uniqueName('schema'));
		const file = path.join(dir, 'schema.sql');
		await fsp.writeFile(file, noData);
		const w = await wrangler(['d1', 'execute', dst.name, '--remote', '--file', file, '-y'], env());
		assert.equal(w.code, 0, wranglerDesc(w));
		assert.deepEqual(await rows(dst.uuid, 'SELECT count(*) AS n FROM vals'), [{ n: 0 }]);
	});

	test('a table that does not exist fails the export with a message', async () => {
		const c = h.srv.sdk();
		const db = await createDb(h.srv, uniqueName('bad'));
		assertOk(await query(db.uuid, 'CREATE TABLE t(a)'));
		const r = await sdkExport(c, h.srv.account.id, db.uuid, { tables: ['nope'] });
		assert.equal(r.status, 'error');
		assert.equal(r.success, false);
		assert.match(r.error, /No such table to export: nope/);
	});

	test('a contentless FTS5 table is exported empty, with a comment, and imports as a usable table', async () => {
		const c = h.srv.sdk();
		const acct = h.srv.account.id;
		const src = await createDb(h.srv, uniqueName('cl'));
		assertOk(await query(src.uuid, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'alpha beta'), (2, 'gamma'); CREATE VIRTUAL TABLE cl USING fts5(x, content=''); INSERT INTO cl(rowid, x) SELECT id, body FROM notes"));
		assert.deepEqual(await rows(src.uuid, "SELECT rowid FROM cl WHERE cl MATCH 'beta'"), [{ rowid: 1 }]);
		const r = await sdkExport(c, acct, src.uuid);
		assert.equal(r.status, 'complete', JSON.stringify(r));
		const sql = await (await fetch(r.result.signed_url)).text();
		assert.match(sql, /-- The next table is a contentless fts5 table \(content=''\)[^\n]*exported empty[^\n]*\nCREATE VIRTUAL TABLE cl USING fts5\(x, content=''\);\n/);
		assert.ok(!/cl_(data|idx|docsize|config)/.test(sql), 'no shadow tables in the export');
		assert.match(sql, /INSERT INTO "notes"/);
		// the same with wrangler, and the file imports: the table is there, empty, and works
		const file = path.join(dir, 'contentless.sql');
		const w = await wrangler(['d1', 'export', src.name, '--remote', '--output', file, '-y'], env());
		assert.equal(w.code, 0, wranglerDesc(w));
		assert.equal(await fsp.readFile(file, 'utf8'), sql);
		const dst = await createDb(h.srv, uniqueName('cl2'));
		const w2 = await wrangler(['d1', 'execute', dst.name, '--remote', '--file', file, '-y'], env());
		assert.equal(w2.code, 0, wranglerDesc(w2));
		assert.deepEqual(await rows(dst.uuid, "SELECT rowid FROM cl WHERE cl MATCH 'beta'"), []);
		assertOk(await query(dst.uuid, 'INSERT INTO cl(rowid, x) SELECT id, body FROM notes'));
		assert.deepEqual(await rows(dst.uuid, "SELECT rowid FROM cl WHERE cl MATCH 'beta OR gamma' ORDER BY rowid"), [{ rowid: 1 }, { rowid: 2 }]);
		// a schema-only export has the definition, with no comment (nothing is left out)
		const s = await sdkExport(c, acct, src.uuid, { no_data: true });
		assert.equal(s.status, 'complete', JSON.stringify(s));
		const schema = await (await fetch(s.result.signed_url)).text();
		assert.match(schema, /^CREATE VIRTUAL TABLE cl USING fts5\(x, content=''\);$/m);
		assert.doesNotMatch(schema, /^--/m);
	});

	test('SDK: export answers active then complete with a signed URL; import init/PUT/ingest/poll', async () => {
		const c = h.srv.sdk();
		const acct = h.srv.account.id;
		const src = await createDb(h.srv, uniqueName('sdk'));
		assertOk(await query(src.uuid, RICH));
		const first = await c.d1.database.export(src.uuid, { account_id: acct, output_format: 'polling' });
		assert.equal(first.success, true);
		assert.ok(['active', 'complete'].includes(first.status), JSON.stringify(first));
		const r = await sdkExport(c, acct, src.uuid);
		assert.equal(r.status, 'complete', JSON.stringify(r));
		assert.match(r.result.filename, /\.sql$/);
		const res = await fetch(r.result.signed_url);
		assert.equal(res.status, 200);
		const sql = Buffer.from(await res.arrayBuffer());

		const dst = await createDb(h.srv, uniqueName('sdkdst'));
		const imp = await sdkImport(c, acct, dst.uuid, sql);
		assert.equal(imp.status, 'complete', JSON.stringify(imp));
		assert.equal(imp.type, 'import');
		assert.ok(imp.result.num_queries > 20);
		for (const k of ['duration', 'rows_read', 'rows_written', 'size_after', 'changes', 'last_row_id'])
			assert.equal(typeof imp.result.meta[k], 'number', k);
		assert.match(imp.result.final_bookmark, /^[0-9a-f]{8}-/);
		assert.ok(imp.result.final_bookmark > imp.at_bookmark, 'the import is a commit');
		assert.deepEqual(await contents(h.srv, dst.uuid), await contents(h.srv, src.uuid));
		// the uploaded file is gone after the import: init asks for it again
		const again = await c.d1.database.import(dst.uuid, { account_id: acct, action: 'init', etag: md5(sql) });
		assert.ok(again.upload_url);
		// a poll with nothing running
		const none = await c.d1.database.import(dst.uuid, { account_id: acct, action: 'poll', current_bookmark: 'nope' });
		assert.equal(none.success, false);
		assert.equal(none.error, 'Not currently importing anything.');
	});

	test('init of a file already uploaded starts the import at once (wrangler: "File already uploaded")', async () => {
		const c = h.srv.sdk();
		const acct = h.srv.account.id;
		const db = await createDb(h.srv, uniqueName('pre'));
		const sql = 'CREATE TABLE t(a); INSERT INTO t VALUES (1), (2);';
		const etag = md5(sql);
		const init = await c.d1.database.import(db.uuid, { account_id: acct, action: 'init', etag });
		assert.equal((await fetch(init.upload_url, { method: 'PUT', body: sql })).status, 200);
		const file = path.join(dir, 'pre.sql');
		await fsp.writeFile(file, sql);
		const w = await wrangler(['d1', 'execute', db.name, '--remote', '--file', file, '-y'], env());
		assert.equal(w.code, 0, wranglerDesc(w));
		assert.match(w.stdout, /File already uploaded/);
		assert.deepEqual(await rows(db.uuid, 'SELECT count(*) AS n FROM t'), [{ n: 2 }]);
	});

	test('a failing import changes nothing and names the statement', async () => {
		const db = await createDb(h.srv, uniqueName('fail'));
		assertOk(await query(db.uuid, "CREATE TABLE t(a UNIQUE); INSERT INTO t VALUES ('kept')"));
		const before = await contents(h.srv, db.uuid);
		const file = path.join(dir, 'fail.sql');
		await fsp.writeFile(file, "INSERT INTO t VALUES ('x');\nCREATE TABLE other(b);\n-- a comment; with a semicolon\nINSERT INTO t VALUES ('kept');\nINSERT INTO t VALUES ('never');\n");
		const w = await wrangler(['d1', 'execute', db.name, '--remote', '--file', file, '-y'], env());
		assert.notEqual(w.code, 0, wranglerDesc(w));
		assert.match(w.stdout + w.stderr, /Statement 3 \(line 4\): UNIQUE constraint failed: t\.a: SQLITE_CONSTRAINT/);
		assert.deepEqual(await contents(h.srv, db.uuid), before);
		// writes work again afterwards
		assertOk(await query(db.uuid, "INSERT INTO t VALUES ('after')"));
	});

	test('imported SQL runs in the sandbox: ATTACH, writable_schema and VACUUM are refused, nothing applied', async () => {
		const c = h.srv.sdk();
		const db = await createDb(h.srv, uniqueName('sbx'));
		for (const bad of ["ATTACH DATABASE '/tmp/x.db' AS x;", 'PRAGMA writable_schema=ON;', 'VACUUM;', "SELECT load_extension('x');", 'CREATE TEMP TABLE tt(a);']) {
			const r = await sdkImport(c, h.srv.account.id, db.uuid, `CREATE TABLE t(a);\n${bad}\n`);
			assert.equal(r.status, 'error', bad);
			assert.match(r.error, /Statement 2 \(line 2\): /, bad);
			assert.deepEqual(await rows(db.uuid, "SELECT count(*) AS n FROM sqlite_schema WHERE name = 't'"), [{ n: 0 }], bad);
		}
	});

	test('the sqlite3 shell .dump imports (BEGIN TRANSACTION, COMMIT, PRAGMA foreign_keys)', async () => {
		const dbfile = path.join(dir, 'shell.db');
		const r = await run('sqlite3', [dbfile], {
			input: "PRAGMA foreign_keys=ON; CREATE TABLE a(id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT); CREATE TABLE b(id INTEGER PRIMARY KEY, a_id REFERENCES a(id)); INSERT INTO a(v) VALUES ('x;y'), ('multi\nline'), (NULL); INSERT INTO b VALUES (1, 2); CREATE INDEX b_a ON b(a_id); CREATE TRIGGER a_ad AFTER DELETE ON a BEGIN DELETE FROM b WHERE a_id = OLD.id; END; CREATE VIEW v AS SELECT * FROM a;",
		});
		assert.equal(r.code, 0, r.stderr);
		const dump = await run('sqlite3', [dbfile, '.dump']);
		assert.equal(dump.code, 0, dump.stderr);
		assert.match(dump.stdout, /BEGIN TRANSACTION;/);
		const file = path.join(dir, 'shell.sql');
		await fsp.writeFile(file, dump.stdout);
		const db = await createDb(h.srv, uniqueName('shell'));
		const w = await wrangler(['d1', 'execute', db.name, '--remote', '--file', file, '-y'], env());
		assert.equal(w.code, 0, wranglerDesc(w));
		assert.deepEqual(await rows(db.uuid, 'SELECT id, v FROM a ORDER BY id'), [
			{ id: 1, v: 'x;y' },
			{ id: 2, v: 'multi\nline' },
			{ id: 3, v: null },
		]);
		assert.deepEqual(await rows(db.uuid, "SELECT seq FROM sqlite_sequence WHERE name = 'a'"), [{ seq: 3 }]);
		assert.deepEqual(await rows(db.uuid, 'SELECT count(*) AS n FROM v'), [{ n: 3 }]);
	});

	test('MD5 mismatch: the upload answers its real ETag and ingest is a clear 400', async () => {
		const c = h.srv.sdk();
		const db = await createDb(h.srv, uniqueName('md5'));
		const good = 'CREATE TABLE t(a);';
		const etag = md5(good);
		const init = await c.d1.database.import(db.uuid, { account_id: h.srv.account.id, action: 'init', etag });
		const put = await fetch(init.upload_url, { method: 'PUT', body: 'CREATE TABLE evil(a);' });
		assert.equal(put.status, 200);
		assert.equal(put.headers.get('etag'), `"${md5('CREATE TABLE evil(a);')}"`);
		const res = await h.srv.api('POST', `${h.srv.dbPath()}/${db.uuid}/import`, { body: { action: 'ingest', etag, filename: init.filename } });
		assertErr(res, 400, 7400, /MD5 mismatch/);
		const res2 = await h.srv.api('POST', `${h.srv.dbPath()}/${db.uuid}/import`, { body: { action: 'ingest', etag, filename: 'other.sql' } });
		assertErr(res2, 400, 7400, /filename/);
		const res3 = await h.srv.api('POST', `${h.srv.dbPath()}/${db.uuid}/import`, { body: { action: 'ingest', etag: md5('nothing'), filename: `${db.uuid}-${md5('nothing')}.sql` } });
		assertErr(res3, 400, 7400, /No file has been uploaded/);
		assertErr(await h.srv.api('POST', `${h.srv.dbPath()}/${db.uuid}/import`, { body: { action: 'init', etag: '../../etc/passwd' } }), 400, 7400, /etag/);
		assertErr(await h.srv.api('POST', `${h.srv.dbPath()}/${db.uuid}/import`, { body: { action: 'explode' } }), 400, 7400, /action/);
		// a read-only token cannot import
		assertErr(await h.srv.api('POST', `${h.srv.dbPath()}/${db.uuid}/import`, { token: h.srv.account.tokens.ro, body: { action: 'init', etag } }), 403, 10000);
	});

	test('signed URLs: tampered, foreign or unsigned → 403 JSON', async () => {
		const c = h.srv.sdk();
		const a = await createDb(h.srv, uniqueName('sa'));
		const b = await createDb(h.srv, uniqueName('sb'));
		assertOk(await query(a.uuid, 'CREATE TABLE t(x); INSERT INTO t VALUES (1)'));
		const r = await sdkExport(c, h.srv.account.id, a.uuid);
		const url = new URL(r.result.signed_url);
		const get = async (u) => {
			const res = await fetch(u);
			const text = await res.text();
			return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
		};
		const sig = url.searchParams.get('sig');
		const flipped = new URL(url);
		flipped.searchParams.set('sig', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
		assertErr(await get(flipped), 403, 10000, /signature does not match/);
		const later = new URL(url);
		later.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 1));
		assertErr(await get(later), 403, 10000, /signature does not match/);
		const foreign = new URL(url.href.replace(`/export/${a.uuid}/`, `/export/${b.uuid}/`));
		assertErr(await get(foreign), 403, 10000);
		const otherFile = new URL(url.href.replace(/[0-9a-f]{32}-\d+\.sql/, '0'.repeat(32) + '-1.sql'));
		assert.notEqual(otherFile.href, url.href);
		assertErr(await get(otherFile), 403, 10000);
		assertErr(await get(url.origin + url.pathname), 403, 10000, /not signed/);
		// an upload URL is not a download URL
		const init = await c.d1.database.import(b.uuid, { account_id: h.srv.account.id, action: 'init', etag: md5('x') });
		assertErr(await get(init.upload_url), 405, 10405);
		const res = await fetch(init.upload_url.replace(/sig=[0-9a-f]+/, 'sig=' + '0'.repeat(64)), { method: 'PUT', body: 'x' });
		assert.equal(res.status, 403);
		assert.match((await res.json()).errors[0].message, /signature/);
		assert.equal((await fetch(url)).status, 200);
	});

	test('an export file is named with its size, and a file cut short (a machine crash before writeback) is refused, not served', async () => {
		const c = h.srv.sdk();
		const db = await createDb(h.srv, uniqueName('cut'));
		assertOk(await query(db.uuid, "CREATE TABLE t(x); INSERT INTO t VALUES ('some text')"));
		const r = await sdkExport(c, h.srv.account.id, db.uuid);
		assert.equal(r.status, 'complete', JSON.stringify(r));
		const m = r.result.filename.match(/^([0-9a-f-]{36})-([0-9a-f]{32})-(\d+)\.sql$/);
		assert.ok(m, r.result.filename);
		assert.equal(m[1], db.uuid);
		const body = await (await fetch(r.result.signed_url)).text();
		assert.equal(Buffer.byteLength(body), Number(m[3]));
		const file = path.join(h.srv.dataDir, 'exports', r.result.filename);
		await fsp.truncate(file, Number(m[3]) - 3);
		const res = await fetch(r.result.signed_url);
		assert.equal(res.status, 404);
		assert.match((await res.json()).errors[0].message, /incomplete/);
	});

	test('queries and writes go on during an export, which sees its snapshot', async () => {
		const c = h.srv.sdk();
		const db = await createDb(h.srv, uniqueName('busy'));
		assertOk(await query(db.uuid, "CREATE TABLE big(id INTEGER PRIMARY KEY, pad TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150000) INSERT INTO big SELECT i, printf('%0200d', i) FROM n"));
		const acct = h.srv.account.id;
		let r = await c.d1.database.export(db.uuid, { account_id: acct, output_format: 'polling' });
		const at = r.at_bookmark;
		let during = 0;
		while (r.status === 'active') {
			assertOk(await query(db.uuid, `INSERT INTO big (pad) VALUES ('later ${during}')`));
			assert.equal((await rows(db.uuid, 'SELECT count(*) AS n FROM big'))[0].n, 150001 + during);
			during++;
			r = await c.d1.database.export(db.uuid, { account_id: acct, output_format: 'polling', current_bookmark: at });
		}
		assert.equal(r.status, 'complete', JSON.stringify(r));
		const sql = await (await fetch(r.result.signed_url)).text();
		assert.equal((sql.match(/^INSERT INTO "big"/gm) ?? []).length, 150000, 'the export is the snapshot at at_bookmark');
		assert.doesNotMatch(sql, /later/);
	});

	test('a large file (~30 MB) through wrangler execute --file, while reads go on and writes are told to wait', async () => {
		const db = await createDb(h.srv, uniqueName('large'));
		const file = path.join(dir, 'large.sql');
		const fh = await fsp.open(file, 'w');
		await fh.write('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, payload TEXT);\n');
		const pad = 'x'.repeat(80);
		let chunk = '';
		const N = 250000;
		for (let i = 1; i <= N; i++) {
			chunk += `INSERT INTO items VALUES (${i}, 'item ${i}; "quoted"', '${pad}');\n`;
			if (chunk.length > 1 << 20) {
				await fh.write(chunk);
				chunk = '';
			}
		}
		await fh.write(chunk);
		await fh.close();
		assert.ok((await fsp.stat(file)).size > 25e6);
		assertOk(await query(db.uuid, 'CREATE TABLE side(a)'));
		const pending = wrangler(['d1', 'execute', db.name, '--remote', '--file', file, '-y'], env(), { timeout: 240000 });
		// while it runs: a write is refused with D1's message (not a 409/429/5xx), a read is served
		let sawBusy = false;
		for (let i = 0; i < 400 && !sawBusy; i++) {
			const res = await query(db.uuid, "INSERT INTO side VALUES ('w')");
			if (res.status !== 200) {
				assertErr(res, 400, 7500, /^Currently processing a long-running import\.$/);
				sawBusy = true;
				assertOk(await query(db.uuid, 'SELECT count(*) FROM side'));
			} else await sleep(25);
		}
		const w = await pending;
		assert.equal(w.code, 0, wranglerDesc(w));
		assert.ok(sawBusy, 'a write during the import was refused');
		assert.match(w.stdout, new RegExp(`Executed ${N + 1} queries`));
		assert.deepEqual(await rows(db.uuid, 'SELECT count(*) AS n, max(id) AS m FROM items'), [{ n: N, m: N }]);
		assertOk(await query(db.uuid, "INSERT INTO side VALUES ('after')"));
	});
});

describe('export and import: limits, expiry and cancellation', () => {
	const h = useServer({ accounts: [{ name: 'lim', email: 'lim@example.com' }], args: ['--signed-url-ttl-s', '2', '--job-idle-ms', '700', '--max-upload-bytes', '100000'] });
	const query = (uuid, sql) => h.srv.api('POST', `${h.srv.dbPath()}/${uuid}/query`, { body: { sql } });

	test('a signed URL expires', async () => {
		const c = h.srv.sdk();
		const db = await createDb(h.srv, uniqueName('exp'));
		assertOk(await query(db.uuid, 'CREATE TABLE t(x)'));
		const r = await sdkExport(c, h.srv.account.id, db.uuid);
		assert.equal(r.status, 'complete');
		assert.equal((await fetch(r.result.signed_url)).status, 200);
		await sleep(3200);
		const res = await fetch(r.result.signed_url);
		assert.equal(res.status, 403);
		assert.match((await res.json()).errors[0].message, /expired/);
	});

	test('an upload over --max-upload-bytes is a 413', async () => {
		const c = h.srv.sdk();
		const db = await createDb(h.srv, uniqueName('big'));
		const body = 'x'.repeat(200000);
		const init = await c.d1.database.import(db.uuid, { account_id: h.srv.account.id, action: 'init', etag: md5(body) });
		const res = await fetch(init.upload_url, { method: 'PUT', body }).catch((e) => e);
		if (!(res instanceof Error)) assert.equal(res.status, 413);
		const ingest = await h.srv.api('POST', `${h.srv.dbPath()}/${db.uuid}/import`, { body: { action: 'ingest', etag: md5(body), filename: init.filename } });
		assertErr(ingest, 400, 7400, /No file has been uploaded/);
	});

	test('an import nobody polls is cancelled inside its long statement and rolled back', async () => {
		const c = h.srv.sdk();
		const acct = h.srv.account.id;
		const db = await createDb(h.srv, uniqueName('idle'));
		// one statement that would run into the 30 s limit: the job must
		// stop inside it, not after it
		const slow = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000000) INSERT INTO t SELECT count(*) FROM n;\n';
		const sql = 'CREATE TABLE t(a);\nINSERT INTO t VALUES (1);\n' + slow;
		const etag = md5(sql);
		const init = await c.d1.database.import(db.uuid, { account_id: acct, action: 'init', etag });
		assert.equal((await fetch(init.upload_url, { method: 'PUT', body: sql })).status, 200);
		const first = await c.d1.database.import(db.uuid, { account_id: acct, action: 'ingest', etag, filename: init.filename });
		assert.equal(first.status, 'active', JSON.stringify(first));
		await sleep(2500);
		const r = await c.d1.database.import(db.uuid, { account_id: acct, action: 'poll', current_bookmark: first.at_bookmark });
		assert.equal(r.status, 'error', JSON.stringify(r));
		assert.match(r.error, /Cancelled due to no poll\(\) received in 700ms\./);
		assert.deepEqual(assertOk(await query(db.uuid, "SELECT count(*) AS n FROM sqlite_schema WHERE name = 't'"))[0].results, [{ n: 0 }]);
		assertOk(await query(db.uuid, 'CREATE TABLE ok(a)'));
	});
});
