// Isolation between accounts, and what a read-only token may do.
//
// Two accounts, A and B, each with a read-write and a read-only token and a
// database holding one row. For every route in ROUTES:
//  - a token of A cannot read, write, list, get, delete or query B's
//    databases, and cannot even tell whether they exist: the error body for
//    B's real database is byte for byte the one for a database (or an
//    account) that does not exist;
//  - a read-only token is refused (403) on every route that changes
//    anything, whatever the SQL;
// and at the end every database is exactly as it was.
//
// A route is one row of ROUTES: {name, method, path(acct, ref) where ref is
// the :db segment (undefined for account-level routes), body (object or a
// function of the database's name), writes (does it change anything?)}.
// Every route that names a database is in the table.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { useServer, assertOk, assertErr, createDb } from './harness.mjs';

const ROUTES = [
	{ name: 'list', method: 'GET', path: (a) => `/accounts/${a}/d1/database`, writes: false },
	{ name: 'list by name', method: 'GET', path: (a) => `/accounts/${a}/d1/database?name=iso`, writes: false },
	{ name: 'create', method: 'POST', path: (a) => `/accounts/${a}/d1/database`, body: { name: 'iso-new' }, writes: true },
	{ name: 'get', method: 'GET', path: (a, d) => `/accounts/${a}/d1/database/${d}`, db: true, writes: false },
	{ name: 'get fields', method: 'GET', path: (a, d) => `/accounts/${a}/d1/database/${d}?fields=uuid,num_tables`, db: true, writes: false },
	{ name: 'PUT', method: 'PUT', path: (a, d) => `/accounts/${a}/d1/database/${d}`, body: { read_replication: { mode: 'auto' } }, db: true, writes: true },
	{ name: 'PATCH', method: 'PATCH', path: (a, d) => `/accounts/${a}/d1/database/${d}`, body: { read_replication: { mode: 'auto' } }, db: true, writes: true },
	{ name: 'delete', method: 'DELETE', path: (a, d) => `/accounts/${a}/d1/database/${d}`, db: true, writes: true },
	{ name: 'query (read)', method: 'POST', path: (a, d) => `/accounts/${a}/d1/database/${d}/query`, body: { sql: 'SELECT * FROM t' }, db: true, writes: false },
	{ name: 'query (write)', method: 'POST', path: (a, d) => `/accounts/${a}/d1/database/${d}/query`, body: { sql: "INSERT INTO t(v) VALUES ('intruder')" }, db: true, writes: true },
	{ name: 'raw (read)', method: 'POST', path: (a, d) => `/accounts/${a}/d1/database/${d}/raw`, body: { sql: 'SELECT * FROM t' }, db: true, writes: false },
	{ name: 'raw (write)', method: 'POST', path: (a, d) => `/accounts/${a}/d1/database/${d}/raw`, body: { sql: 'DELETE FROM t' }, db: true, writes: true },
	{ name: 'query batch (write)', method: 'POST', path: (a, d) => `/accounts/${a}/d1/database/${d}/query`, body: { batch: [{ sql: 'SELECT 1' }, { sql: 'DROP TABLE t' }] }, db: true, writes: true },
	{ name: 'time travel bookmark', method: 'GET', path: (a, d) => `/accounts/${a}/d1/database/${d}/time_travel/bookmark`, db: true, writes: false },
	{ name: 'time travel bookmark at', method: 'GET', path: (a, d) => `/accounts/${a}/d1/database/${d}/time_travel/bookmark?timestamp=2999-01-01T00:00:00Z`, db: true, writes: false },
	{ name: 'time travel restore', method: 'POST', path: (a, d) => `/accounts/${a}/d1/database/${d}/time_travel/restore?timestamp=2999-01-01T00:00:00Z`, body: '', db: true, writes: true },
	{ name: 'export', method: 'POST', path: (a, d) => `/accounts/${a}/d1/database/${d}/export`, body: { output_format: 'polling' }, db: true, writes: false },
	{ name: 'import init', method: 'POST', path: (a, d) => `/accounts/${a}/d1/database/${d}/import`, body: { action: 'init', etag: 'd41d8cd98f00b204e9800998ecf8427e' }, db: true, writes: true },
];

// SQL that changes something, each sent by a read-only token to /query and
// /raw: all must be refused with 403 and change nothing.
const WRITING_SQL = [
	"INSERT INTO t(v) VALUES ('ro')",
	"UPDATE t SET v = 'ro'",
	'DELETE FROM t',
	"REPLACE INTO t(id, v) VALUES (1, 'ro')",
	'CREATE TABLE ro(a)',
	'CREATE INDEX ro_i ON t(v)',
	'CREATE VIEW ro_v AS SELECT 1',
	'CREATE TRIGGER ro_t AFTER INSERT ON t BEGIN DELETE FROM t; END',
	'DROP TABLE t',
	'ALTER TABLE t ADD COLUMN ro',
	'ALTER TABLE t RENAME TO ro',
	'VACUUM',
	'REINDEX', // t has an index, so this would write
	'ANALYZE',
	"/* a comment first */ insert into t(v) values ('ro')",
	"SELECT 1; INSERT INTO t(v) VALUES ('ro')",
	"WITH x AS (SELECT 1) INSERT INTO t(v) SELECT 'ro' FROM x",
	"INSERT INTO t(v) SELECT 'ro' WHERE 0",
];

describe('isolation between accounts and read-only tokens', () => {
	const h = useServer({
		accounts: [
			{ name: 'acct-a', email: 'a@example.com' },
			{ name: 'acct-b', email: 'b@example.com' },
		],
	});
	let A, B, dbA, dbB, snapshot;
	const ghostAccount = crypto.randomBytes(16).toString('hex');
	const ghostDb = crypto.randomUUID();

	const call = (route, { acct, ref, token, headers }) =>
		h.srv.api(route.method, route.path(acct, ref), { token, headers, body: route.body });

	/** Everything an account can see: its databases and their content. */
	async function state(acct) {
		const list = assertOk(await h.srv.api('GET', `/accounts/${acct.id}/d1/database`, { token: acct.tokens.rw }));
		const out = [];
		for (const d of list) {
			const info = assertOk(await h.srv.api('GET', `/accounts/${acct.id}/d1/database/${d.uuid}`, { token: acct.tokens.rw }));
			delete info.file_size; // the WAL's size moves with reads' checkpoints
			const rows = assertOk(
				await h.srv.api('POST', `/accounts/${acct.id}/d1/database/${d.uuid}/raw`, {
					token: acct.tokens.rw,
					body: { sql: "SELECT type, name, sql FROM sqlite_schema ORDER BY name; SELECT * FROM t ORDER BY id" },
				}),
			).map((r) => r.results.rows);
			out.push({ info, rows });
		}
		return out;
	}

	before(async () => {
		[A, B] = h.srv.accounts;
		dbA = await createDb(h.srv, 'iso-a', { token: A.tokens.rw, accountId: A.id });
		dbB = await createDb(h.srv, 'iso-b', { token: B.tokens.rw, accountId: B.id });
		for (const [acct, db] of [
			[A, dbA],
			[B, dbB],
		])
			assertOk(
				await h.srv.api('POST', `/accounts/${acct.id}/d1/database/${db.uuid}/query`, {
					token: acct.tokens.rw,
					body: { sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v); INSERT INTO t(v) VALUES ('mine')" },
				}),
			);
		snapshot = { A: await state(A), B: await state(B) };
	});

	test('the route table covers every method and path of the router', () => {
		const seen = new Set(ROUTES.map((r) => `${r.method} ${r.path(':a', ':d').split('?')[0]}`));
		for (const want of [
			'GET /accounts/:a/d1/database',
			'POST /accounts/:a/d1/database',
			'GET /accounts/:a/d1/database/:d',
			'PUT /accounts/:a/d1/database/:d',
			'PATCH /accounts/:a/d1/database/:d',
			'DELETE /accounts/:a/d1/database/:d',
			'POST /accounts/:a/d1/database/:d/query',
			'POST /accounts/:a/d1/database/:d/raw',
		])
			assert.ok(seen.has(want), `ROUTES lacks ${want}`);
	});

	const creds = [
		['Bearer rw token', (acct) => ({ token: acct.tokens.rw })],
		['Bearer ro token', (acct) => ({ token: acct.tokens.ro })],
		['X-Auth-Email + X-Auth-Key', (acct) => ({ token: null, headers: { 'X-Auth-Email': acct.email, 'X-Auth-Key': acct.tokens.rw } })],
	];

	for (const route of ROUTES) {
		for (const [credName, cred] of creds) {
			test(`A's ${credName} cannot ${route.name} in account B, nor tell what exists there`, async () => {
				const c = cred(A);
				// B's real database by uuid and by name, a database B does
				// not have, and an account that does not exist at all.
				const targets = route.db
					? [
							[B.id, dbB.uuid],
							[B.id, dbB.name],
							[B.id, ghostDb],
							[B.id, 'no-such-name'],
							[ghostAccount, ghostDb],
						]
					: [
							[B.id, undefined],
							[ghostAccount, undefined],
						];
				const bodies = [];
				for (const [acct, ref] of targets) {
					const res = await call(route, { acct, ref, ...c });
					assertErr(res, 403, 7403);
					bodies.push(res.text);
				}
				for (const b of bodies) assert.equal(b, bodies[0], 'error bodies differ: existence leaks');
			});
		}

		if (route.db) {
			test(`B's database through A's own account path: ${route.name} gets the answer of a database that does not exist`, async () => {
				const norm = (res, ref) => res.text.split(ref).join('<REF>');
				for (const [real, ghost] of [
					[dbB.uuid, ghostDb],
					[dbB.name, 'no-such-name'],
				]) {
					const r1 = await call(route, { acct: A.id, ref: real, token: A.tokens.rw });
					const r2 = await call(route, { acct: A.id, ref: ghost, token: A.tokens.rw });
					assertErr(r1, 404, 7404);
					assert.equal(r1.status, r2.status);
					assert.equal(norm(r1, real), norm(r2, ghost), 'error bodies differ: existence leaks');
				}
			});
		}

		test(`a read-only token ${route.writes ? 'is refused' : 'may'} ${route.name} in its own account`, async () => {
			const res = await call(route, { acct: A.id, ref: dbA.uuid, token: A.tokens.ro });
			if (route.writes) assertErr(res, 403, 10000, /read-only/);
			else assertOk(res);
		});
	}

	for (const ep of ['query', 'raw']) {
		test(`a read-only token is refused every writing statement on /${ep} (${WRITING_SQL.length} statements)`, async () => {
			for (const sql of WRITING_SQL) {
				const res = await h.srv.api('POST', `/accounts/${A.id}/d1/database/${dbA.uuid}/${ep}`, { token: A.tokens.ro, body: { sql } });
				assertErr(res, 403, 10000, /read-only/);
			}
			const batch = await h.srv.api('POST', `/accounts/${A.id}/d1/database/${dbA.uuid}/${ep}`, {
				token: A.tokens.ro,
				body: { batch: WRITING_SQL.map((sql) => ({ sql: `SELECT 1; ${sql}` })) },
			});
			assertErr(batch, 403, 10000, /read-only/);
		});
	}

	test("A's list never shows B's databases, whatever the filter", async () => {
		for (const q of ['', '?name=iso-b', `?name=${dbB.uuid}`, '?name=iso&per_page=10000']) {
			const res = await h.srv.api('GET', `/accounts/${A.id}/d1/database${q}`, { token: A.tokens.rw });
			const list = assertOk(res);
			assert.ok(!list.some((d) => d.uuid === dbB.uuid || d.name === dbB.name), `B's database in A's list ${q}`);
			assert.equal(res.json.result_info.total_count, list.length);
		}
	});

	test("a database name is per account: B may have one of A's names, and each sees its own", async () => {
		const twin = await createDb(h.srv, dbA.name, { token: B.tokens.rw, accountId: B.id });
		assert.notEqual(twin.uuid, dbA.uuid);
		const got = assertOk(await h.srv.api('GET', `/accounts/${A.id}/d1/database/${dbA.name}`, { token: A.tokens.rw }));
		assert.equal(got.uuid, dbA.uuid);
		assertOk(await h.srv.api('DELETE', `/accounts/${B.id}/d1/database/${twin.uuid}`, { token: B.tokens.rw }));
		assert.equal(assertOk(await h.srv.api('GET', `/accounts/${A.id}/d1/database/${dbA.name}`, { token: A.tokens.rw })).uuid, dbA.uuid);
	});

	test('afterwards: both accounts see exactly what they had', async () => {
		assert.deepEqual(await state(A), snapshot.A);
		assert.deepEqual(await state(B), snapshot.B);
	});
});
