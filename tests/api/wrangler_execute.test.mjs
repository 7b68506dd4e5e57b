// wrangler `d1 execute --remote` and `d1 migrations apply|list --remote`
// against d1d: both go through POST .../query.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { useServer, assertOk, createDb, wrangler, wranglerDesc, wranglerJson } from './harness.mjs';

const MIGRATION_1 = [
	'-- Migration number: 0001 init',
	'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, created TEXT);',
	'CREATE TABLE audit (msg TEXT);',
	'CREATE TRIGGER users_ai AFTER INSERT ON users',
	'BEGIN',
	"  INSERT INTO audit VALUES ('new user; ' || NEW.email || CASE WHEN NEW.email LIKE '%@example.com' THEN ' (internal)' ELSE '' END);",
	'END;',
	"INSERT INTO users (email) VALUES ('a@example.com');",
	'',
].join('\r\n');

const MIGRATION_2 = [
	'-- Migration number: 0002 more',
	'CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), body TEXT); -- ; in a comment',
	'CREATE INDEX posts_user ON posts(user_id);',
	"INSERT INTO posts (user_id, body) VALUES (1, 'hello; world');",
	"INSERT INTO users (email) VALUES ('b@elsewhere.org');",
	'',
].join('\n');

describe('wrangler d1 execute and migrations', () => {
	const h = useServer({ accounts: [{ name: 'wx', email: 'wx@example.com' }] });
	const env = () => h.srv.wranglerEnv();
	const query = (db, body) => h.srv.api('POST', `${h.srv.dbPath()}/${db}/query`, { body });
	const rows = async (db, sql) => assertOk(await query(db, { sql })).at(-1).results;
	let dir;

	before(async () => {
		dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-wx-'));
	});
	after(async () => {
		if (dir) await fsp.rm(dir, { recursive: true, force: true });
	});

	test('execute --remote --command runs a multi-statement sql; --json answers the QueryResults', async () => {
		const db = await createDb(h.srv, 'wx-exec');
		const w1 = await wrangler(
			['d1', 'execute', 'wx-exec', '--remote', '--command', "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items (name) VALUES ('a;b'), ('c');"],
			env(),
		);
		assert.equal(w1.code, 0, wranglerDesc(w1));
		assert.deepEqual(await rows(db.uuid, 'SELECT id, name FROM items ORDER BY id'), [
			{ id: 1, name: 'a;b' },
			{ id: 2, name: 'c' },
		]);

		const w2 = await wrangler(['d1', 'execute', 'wx-exec', '--remote', '--command', 'SELECT id, name FROM items ORDER BY id', '--json'], env());
		assert.equal(w2.code, 0, wranglerDesc(w2));
		const out = wranglerJson(w2);
		assert.ok(Array.isArray(out) && out.length === 1, JSON.stringify(out));
		assert.equal(out[0].success, true);
		assert.deepEqual(out[0].results, [
			{ id: 1, name: 'a;b' },
			{ id: 2, name: 'c' },
		]);
		assert.equal(out[0].meta.changed_db, false);
		assert.equal(typeof out[0].meta.size_after, 'number');

		// a multi-statement --command with --json: one result per statement
		const w3 = await wrangler(
			['d1', 'execute', 'wx-exec', '--remote', '--json', '--command', "INSERT INTO items (name) VALUES ('d'); SELECT count(*) AS n FROM items"],
			env(),
		);
		assert.equal(w3.code, 0, wranglerDesc(w3));
		const out3 = wranglerJson(w3);
		assert.equal(out3.length, 2, JSON.stringify(out3));
		assert.equal(out3[0].meta.changes, 1);
		assert.deepEqual(out3[1].results, [{ n: 3 }]);

		// the text table output shows the rows
		const w4 = await wrangler(['d1', 'execute', 'wx-exec', '--remote', '--command', "SELECT name FROM items WHERE name = 'a;b'"], env());
		assert.equal(w4.code, 0, wranglerDesc(w4));
		assert.ok(w4.stdout.includes('a;b'), wranglerDesc(w4));
	});

	test('execute --remote with a failing statement exits non-zero with the D1 error and applies nothing', async () => {
		const db = await createDb(h.srv, 'wx-fail');
		assertOk(await query(db.uuid, { sql: 'CREATE TABLE t(a)' }));
		const w = await wrangler(['d1', 'execute', 'wx-fail', '--remote', '--command', 'INSERT INTO t VALUES (1); INSERT INTO nope VALUES (2)'], env());
		assert.notEqual(w.code, 0, wranglerDesc(w));
		assert.match(w.stdout + w.stderr, /no such table: nope: SQLITE_ERROR/, wranglerDesc(w));
		assert.match(w.stdout + w.stderr, /7500/, wranglerDesc(w));
		assert.deepEqual(await rows(db.uuid, 'SELECT count(*) AS n FROM t'), [{ n: 0 }]);

		const wt = await wrangler(['d1', 'execute', 'wx-fail', '--remote', '--command', 'BEGIN TRANSACTION; INSERT INTO t VALUES (1); COMMIT;'], env());
		assert.notEqual(wt.code, 0, wranglerDesc(wt));
		assert.match(wt.stdout + wt.stderr, /not authorized/, wranglerDesc(wt));
		assert.deepEqual(await rows(db.uuid, 'SELECT count(*) AS n FROM t'), [{ n: 0 }]);
	});

	test('migrations list/apply --remote with a wrangler.json binding', async () => {
		const db = await createDb(h.srv, 'wx-mig');
		const cwd = path.join(dir, 'app');
		await fsp.mkdir(path.join(cwd, 'migrations'), { recursive: true });
		await fsp.writeFile(
			path.join(cwd, 'wrangler.json'),
			JSON.stringify(
				{
					name: 'wx-app',
					compatibility_date: '2024-09-01',
					d1_databases: [{ binding: 'DB', database_name: 'wx-mig', database_id: db.uuid, migrations_dir: 'migrations' }],
				},
				null,
				2,
			),
		);
		await fsp.writeFile(path.join(cwd, 'migrations', '0001_init.sql'), MIGRATION_1);
		await fsp.writeFile(path.join(cwd, 'migrations', '0002_more.sql'), MIGRATION_2);

		const pending = await wrangler(['d1', 'migrations', 'list', 'DB', '--remote', '--cwd', cwd], env());
		assert.equal(pending.code, 0, wranglerDesc(pending));
		assert.match(pending.stdout, /0001_init\.sql/, wranglerDesc(pending));
		assert.match(pending.stdout, /0002_more\.sql/, wranglerDesc(pending));

		const apply = await wrangler(['d1', 'migrations', 'apply', 'DB', '--remote', '--cwd', cwd], env());
		assert.equal(apply.code, 0, wranglerDesc(apply));
		assert.match(apply.stdout, /0001_init\.sql/, wranglerDesc(apply));
		assert.match(apply.stdout, /0002_more\.sql/, wranglerDesc(apply));
		assert.doesNotMatch(apply.stdout + apply.stderr, /incomplete input|SQLITE_/, wranglerDesc(apply));

		const done = await wrangler(['d1', 'migrations', 'list', 'DB', '--remote', '--cwd', cwd], env());
		assert.equal(done.code, 0, wranglerDesc(done));
		assert.match(done.stdout, /No migrations to apply/, wranglerDesc(done));
		assert.doesNotMatch(done.stdout, /0001_init\.sql|0002_more\.sql/, wranglerDesc(done));

		// the schema and data the migrations made
		assert.deepEqual(
			(await rows(db.uuid, "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name")).map(
				(r) => r.name,
			),
			['audit', 'd1_migrations', 'posts', 'posts_user', 'users', 'users_ai'],
		);
		assert.deepEqual(await rows(db.uuid, 'SELECT name FROM d1_migrations ORDER BY id'), [{ name: '0001_init.sql' }, { name: '0002_more.sql' }]);
		assert.deepEqual(await rows(db.uuid, 'SELECT msg FROM audit ORDER BY rowid'), [{ msg: 'new user; a@example.com (internal)' }, { msg: 'new user; b@elsewhere.org' }]);
		assert.deepEqual(await rows(db.uuid, 'SELECT user_id, body FROM posts'), [{ user_id: 1, body: 'hello; world' }]);

		// applying again is a no-op
		const again = await wrangler(['d1', 'migrations', 'apply', 'DB', '--remote', '--cwd', cwd], env());
		assert.equal(again.code, 0, wranglerDesc(again));
		assert.match(again.stdout, /No migrations to apply/, wranglerDesc(again));
		assert.deepEqual(await rows(db.uuid, 'SELECT count(*) AS n FROM d1_migrations'), [{ n: 2 }]);
	});

	test('a failing migration is not recorded and leaves no trace; earlier ones stay applied', async () => {
		const db = await createDb(h.srv, 'wx-migfail');
		const cwd = path.join(dir, 'app-fail');
		await fsp.mkdir(path.join(cwd, 'migrations'), { recursive: true });
		await fsp.writeFile(
			path.join(cwd, 'wrangler.json'),
			JSON.stringify({
				name: 'wx-app-fail',
				compatibility_date: '2024-09-01',
				d1_databases: [{ binding: 'DB', database_name: 'wx-migfail', database_id: db.uuid, migrations_dir: 'migrations' }],
			}),
		);
		await fsp.writeFile(path.join(cwd, 'migrations', '0001_ok.sql'), 'CREATE TABLE a (x);\n');
		await fsp.writeFile(path.join(cwd, 'migrations', '0002_bad.sql'), 'CREATE TABLE b (x);\nINSERT INTO nope VALUES (1);\n');
		const apply = await wrangler(['d1', 'migrations', 'apply', 'DB', '--remote', '--cwd', cwd], env());
		assert.notEqual(apply.code, 0, wranglerDesc(apply));
		assert.match(apply.stdout + apply.stderr, /no such table: nope/, wranglerDesc(apply));
		assert.deepEqual(await rows(db.uuid, 'SELECT name FROM d1_migrations ORDER BY id'), [{ name: '0001_ok.sql' }]);
		assert.deepEqual(
			(await rows(db.uuid, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")).map((r) => r.name),
			['a', 'd1_migrations'],
		);
	});
});
