// POST .../query and .../raw: D1's query semantics (COMPAT.md §2) — bodies,
// statement splitting, atomicity, parameters, values, meta, the SQL sandbox,
// limits, the query timeout, tokens, concurrency, and the SDK's methods.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { useServer, assertOk, assertErr, assertSdkErr, createDb, uniqueName, sleep } from './harness.mjs';

const TX_AUTH_RE = /not authorized.*: SQLITE_AUTH$/;
const WRONG_PARAMS = 'Wrong number of parameter bindings for SQL query.';
const META_KEYS = [
	'changed_db',
	'changes',
	'duration',
	'last_row_id',
	'rows_read',
	'rows_written',
	'served_by_colo',
	'served_by_primary',
	'served_by_region',
	'size_after',
	'timings',
];

/** Helpers bound to a server holder. */
function helpers(h) {
	const ep = (db, kind, accountId) => `${h.srv.dbPath(accountId)}/${db}/${kind}`;
	const self = {
		query: (db, body, o = {}) => h.srv.api('POST', ep(db, 'query', o.accountId), { body, ...o }),
		raw: (db, body, o = {}) => h.srv.api('POST', ep(db, 'raw', o.accountId), { body, ...o }),
		newDb: async (extra = {}) => (await createDb(h.srv, uniqueName('q'), { extra })).uuid,
		/** Run sql (ok expected) and return the last statement's rows. */
		rows: async (db, sql, params) => {
			const res = assertOk(await self.query(db, params ? { sql, params } : { sql }));
			return res.at(-1).results;
		},
		/** Names of the user tables (and views, triggers) in db. */
		schema: async (db, type = 'table') =>
			(await self.rows(db, `SELECT name FROM sqlite_master WHERE type = '${type}' ORDER BY name`)).map((r) => r.name),
	};
	return self;
}

/** Assert every QueryResult in res is {results, success: true, meta}. */
function assertResults(res, n) {
	assert.ok(Array.isArray(res), `result is not an array: ${JSON.stringify(res)}`);
	if (n != null) assert.equal(res.length, n, `expected ${n} QueryResults, got ${JSON.stringify(res)}`);
	for (const r of res) {
		assert.deepEqual(Object.keys(r).sort(), ['meta', 'results', 'success'], JSON.stringify(r));
		assert.equal(r.success, true);
		assert.deepEqual(Object.keys(r.meta).sort(), META_KEYS, JSON.stringify(r.meta));
	}
	return res;
}

describe('query and raw', () => {
	const h = useServer({
		accounts: [
			{ name: 'q-acct', email: 'q@example.com' },
			{ name: 'q-other', email: 'q-other@example.com' },
		],
		args: ['--region', 'ENAM', '--colo', 'SJC'],
	});
	const { query, raw, newDb, rows, schema } = helpers(h);
	let db; // a shared scratch database for read-only checks

	before(async () => {
		db = await newDb();
	});

	// ---- bodies and shapes ----

	test('{sql} answers one QueryResult {results, success, meta}; /raw gives {columns, rows}', async () => {
		const q = assertResults(assertOk(await query(db, { sql: "SELECT 1 AS a, 'x' AS b" })), 1);
		assert.deepEqual(q[0].results, [{ a: 1, b: 'x' }]);
		const r = assertResults(assertOk(await raw(db, { sql: "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y'" })), 1);
		assert.deepEqual(r[0].results, { columns: ['a', 'b'], rows: [[1, 'x'], [2, 'y']] });
		// a statement without columns
		const t = await newDb();
		const c = assertResults(assertOk(await raw(t, { sql: 'CREATE TABLE t(a)' })), 1);
		assert.deepEqual(c[0].results, { columns: [], rows: [] });
		const s = assertResults(assertOk(await query(t, { sql: 'SELECT a FROM t' })), 1);
		assert.deepEqual(s[0].results, []);
		const e = assertResults(assertOk(await raw(t, { sql: 'SELECT a FROM t' })), 1);
		assert.deepEqual(e[0].results, { columns: ['a'], rows: [] });
	});

	test('{batch} answers one QueryResult per statement, in order (query and raw)', async () => {
		const t = await newDb();
		const body = {
			batch: [
				{ sql: 'CREATE TABLE b(a INTEGER, s TEXT)' },
				{ sql: 'INSERT INTO b VALUES (?, ?)', params: [1, 'one'] },
				{ sql: "INSERT INTO b VALUES (2, 'two'); SELECT count(*) AS n FROM b", params: [] },
				{ sql: 'SELECT a, s FROM b WHERE a >= ? ORDER BY a', params: [1] },
			],
		};
		const q = assertResults(assertOk(await query(t, body)), 5);
		assert.deepEqual(q.map((r) => r.results), [[], [], [], [{ n: 2 }], [{ a: 1, s: 'one' }, { a: 2, s: 'two' }]]);
		const r = assertResults(
			assertOk(await raw(t, { batch: [{ sql: 'SELECT count(*) AS n FROM b' }, { sql: 'SELECT s FROM b ORDER BY a DESC' }] })),
			2,
		);
		assert.deepEqual(r[0].results, { columns: ['n'], rows: [[2]] });
		assert.deepEqual(r[1].results, { columns: ['s'], rows: [['two'], ['one']] });
	});

	test('invalid bodies → 400 code 7400 naming the problem', async () => {
		const cases = [
			[{ sql: '' }, /\bsql\b/],
			[{ sql: ' ;\n ; ' }, /\bsql\b/],
			[{}, /\bsql\b/],
			[{ params: [] }, /\bsql\b/],
			[{ sql: 5 }, /\bsql\b/],
			[{ sql: null }, /\bsql\b/],
			[{ sql: 'SELECT ?', params: 'x' }, /\bparams\b/],
			[{ sql: 'SELECT ?', params: { 0: 1 } }, /\bparams\b/],
			[{ sql: 'SELECT ?', params: 7 }, /\bparams\b/],
			[{ sql: 'SELECT ?', params: [[1]] }, /params\[0\]/],
			[{ sql: 'SELECT ?, ?', params: [1, { a: 1 }] }, /params\[1\]/],
			[{ sql: 'SELECT 1', foo: 1 }, /\bfoo\b/],
			[{ sql: 'SELECT 1', Params: [] }, /\bParams\b/],
			[{ batch: [] }, /\bbatch\b/],
			[{ batch: 'SELECT 1' }, /\bbatch\b/],
			[{ batch: [{ sql: 'SELECT 1' }, 'SELECT 2'] }, /batch\[1\]/],
			[{ batch: [{ sql: 'SELECT 1' }, {}] }, /batch\[1\]\.sql/],
			[{ batch: [{ sql: 'SELECT 1', bar: 1 }] }, /batch\[0\]\.bar/],
			[{ batch: [{ sql: 'SELECT ?', params: [[1]] }] }, /batch\[0\]\.params\[0\]/],
			[{ batch: [{ sql: 'SELECT 1' }], sql: 'SELECT 1' }, /batch|sql/],
		];
		for (const kind of [query, raw]) {
			for (const [body, re] of cases) {
				const res = await kind(db, body);
				assertErr(res, 400, 7400, re);
			}
			assertErr(await kind(db, 'SELECT 1'), 400, 7400);
			assertErr(await kind(db, '[{"sql":"SELECT 1"}]'), 400, 7400);
			assertErr(await kind(db, '{"sql":"SELECT 1"'), 400, 7400);
		}
	});

	test('a database can be addressed by name', async () => {
		const name = uniqueName('q-named');
		await createDb(h.srv, name);
		const res = assertResults(assertOk(await query(name, { sql: 'SELECT 7 AS n' })), 1);
		assert.deepEqual(res[0].results, [{ n: 7 }]);
	});

	// ---- splitting ----

	test('semicolons inside strings, identifiers and comments do not split', async () => {
		const t = await newDb();
		const sql = [
			'CREATE TABLE "we;ird" (a TEXT); -- a comment; with a semicolon',
			"INSERT INTO \"we;ird\" VALUES ('x;y'); /* block; comment; */ INSERT INTO \"we;ird\" VALUES ('it''s; \"q;\" -- not a comment');",
			'SELECT a FROM "we;ird" ORDER BY rowid;',
			'-- trailing comment; still a comment',
		].join('\n');
		const res = assertResults(assertOk(await query(t, { sql })), 4);
		assert.deepEqual(res[3].results, [{ a: 'x;y' }, { a: 'it\'s; "q;" -- not a comment' }]);
		assert.deepEqual(await schema(t), ['we;ird']);
	});

	test('a trigger with BEGIN...END and CASE...END, with CRLF line endings', async () => {
		const t = await newDb();
		const sql = [
			'CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER, tier TEXT);',
			'CREATE TABLE log(msg TEXT);',
			'CREATE TRIGGER acct_ai AFTER INSERT ON acct',
			'BEGIN',
			"  INSERT INTO log VALUES (CASE WHEN NEW.bal > 100 THEN 'rich;' ELSE 'poor;' END);",
			"  UPDATE acct SET tier = CASE WHEN NEW.bal > 100 THEN 'gold' ELSE 'basic' END WHERE id = NEW.id;",
			'END;',
			'INSERT INTO acct(bal) VALUES (50), (500);',
			'SELECT msg FROM log ORDER BY rowid;',
			'',
		].join('\r\n');
		const res = assertResults(assertOk(await query(t, { sql })), 5);
		assert.deepEqual(res[4].results, [{ msg: 'poor;' }, { msg: 'rich;' }]);
		assert.deepEqual(await rows(t, 'SELECT id, bal, tier FROM acct ORDER BY id'), [
			{ id: 1, bal: 50, tier: 'basic' },
			{ id: 2, bal: 500, tier: 'gold' },
		]);
		assert.deepEqual(await schema(t, 'trigger'), ['acct_ai']);
		// the trigger keeps working in later requests
		assertOk(await query(t, { sql: 'INSERT INTO acct(bal) VALUES (?)', params: [101] }));
		assert.deepEqual(await rows(t, 'SELECT tier FROM acct WHERE id = 3'), [{ tier: 'gold' }]);
	});

	test('trailing semicolons, empty statements and trailing comments give no extra results', async () => {
		assertResults(assertOk(await query(db, { sql: 'SELECT 1 AS a;' })), 1);
		const res = assertResults(assertOk(await query(db, { sql: 'SELECT 1 AS a;;  ;\n SELECT 2 AS b;\n-- the end\n/* really */ ;\n' })), 2);
		assert.deepEqual(res.map((r) => r.results), [[{ a: 1 }], [{ b: 2 }]]);
		const r = assertResults(assertOk(await raw(db, { sql: '\r\n  SELECT 3 AS c ; -- done' })), 1);
		assert.deepEqual(r[0].results, { columns: ['c'], rows: [[3]] });
	});

	test('reads and writes mixed in one sql see each other, one result each', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE m(a); INSERT INTO m VALUES (1)' }));
		const res = assertResults(
			assertOk(await query(t, { sql: 'SELECT count(*) AS n FROM m; INSERT INTO m VALUES (2); SELECT count(*) AS n FROM m' })),
			3,
		);
		assert.deepEqual(res.map((r) => r.results), [[{ n: 1 }], [], [{ n: 2 }]]);
	});

	// ---- errors and atomicity ----

	test('SQL errors → 400 code 7500 "<errmsg>[ at offset N]: SQLITE_<CODE>"', async () => {
		assertErr(await query(db, { sql: 'SELECT * FROM nope' }), 400, 7500, /^no such table: nope: SQLITE_ERROR$/);
		assertErr(await raw(db, { sql: 'INSERT INTO nope VALUES (1)' }), 400, 7500, /^no such table: nope: SQLITE_ERROR$/);
		assertErr(await query(db, { sql: 'SELEC 1' }), 400, 7500, /^near "SELEC": syntax error at offset 0: SQLITE_ERROR$/);
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE u(x UNIQUE NOT NULL)' }));
		assertErr(await query(t, { sql: 'INSERT INTO u VALUES (1), (1)' }), 400, 7500, /^UNIQUE constraint failed: u\.x: SQLITE_CONSTRAINT$/);
		assertErr(await query(t, { sql: 'INSERT INTO u VALUES (NULL)' }), 400, 7500, /^NOT NULL constraint failed: u\.x: SQLITE_CONSTRAINT$/);
	});

	test('a failing statement in a multi-statement sql applies nothing', async () => {
		const t = await newDb();
		assertErr(
			await query(t, { sql: 'CREATE TABLE a(x); INSERT INTO a VALUES (1); INSERT INTO nope VALUES (1)' }),
			400,
			7500,
			/^no such table: nope: SQLITE_ERROR$/,
		);
		assert.deepEqual(await schema(t), []);

		// a runtime error after earlier writes rolls those back too
		assertOk(await query(t, { sql: 'CREATE TABLE u(x UNIQUE); INSERT INTO u VALUES (1)' }));
		assertErr(
			await raw(t, { sql: 'INSERT INTO u VALUES (2); UPDATE u SET x = x + 10; CREATE TABLE z(a); INSERT INTO u VALUES (12)' }),
			400,
			7500,
			/^UNIQUE constraint failed: u\.x: SQLITE_CONSTRAINT$/,
		);
		assert.deepEqual(await rows(t, 'SELECT x FROM u ORDER BY x'), [{ x: 1 }]);
		assert.deepEqual(await schema(t), ['u']);
	});

	test('a failing statement in a batch applies nothing', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE keep(a)' }));
		const batch = [
			{ sql: 'CREATE TABLE b(x)' },
			{ sql: 'INSERT INTO b VALUES (1)' },
			{ sql: 'INSERT INTO keep VALUES (?)', params: [2] },
			{ sql: 'SELECT * FROM nope' },
		];
		assertErr(await query(t, { batch }), 400, 7500, /^no such table: nope: SQLITE_ERROR$/);
		assertErr(await raw(t, { batch }), 400, 7500, /^no such table: nope: SQLITE_ERROR$/);
		// a parameter mismatch in the last element
		assertErr(await query(t, { batch: [...batch.slice(0, 3), { sql: 'SELECT ?', params: [] }] }), 400, 7500);
		assert.deepEqual(await schema(t), ['keep']);
		assert.deepEqual(await rows(t, 'SELECT count(*) AS n FROM keep'), [{ n: 0 }]);
	});

	test('BEGIN/COMMIT/ROLLBACK/SAVEPOINT/RELEASE → 400 7500 "not authorized ...: SQLITE_AUTH"', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE t(a)' }));
		const stmts = [
			'BEGIN',
			'BEGIN TRANSACTION',
			'BEGIN IMMEDIATE',
			'BEGIN EXCLUSIVE',
			'COMMIT',
			'END',
			'ROLLBACK',
			'SAVEPOINT sp',
			'RELEASE sp',
			'RELEASE SAVEPOINT sp',
			'ROLLBACK TO sp',
		];
		for (const sql of stmts) {
			assertErr(await query(t, { sql }), 400, 7500, TX_AUTH_RE);
			assertErr(await raw(t, { sql: sql + ';' }), 400, 7500, TX_AUTH_RE);
		}
		// inside a multi-statement sql or a batch: nothing is applied
		assertErr(await query(t, { sql: 'INSERT INTO t VALUES (1); COMMIT; INSERT INTO t VALUES (2)' }), 400, 7500, TX_AUTH_RE);
		assertErr(await query(t, { sql: 'SAVEPOINT a; INSERT INTO t VALUES (3); RELEASE a' }), 400, 7500, TX_AUTH_RE);
		assertErr(await query(t, { batch: [{ sql: 'INSERT INTO t VALUES (4)' }, { sql: 'ROLLBACK' }] }), 400, 7500, TX_AUTH_RE);
		assert.deepEqual(await rows(t, 'SELECT count(*) AS n FROM t'), [{ n: 0 }]);
	});

	// ---- parameters ----

	test('parameters: strings, integers, floats, booleans (1/0), null', async () => {
		const res = assertOk(
			await query(db, {
				sql: 'SELECT ? AS s, ? AS i, ? AS f, ? AS t, ? AS fa, ? AS n, ? AS neg, ? AS e',
				params: ['str', 42, 1.5, true, false, null, -7, ''],
			}),
		);
		assert.deepEqual(res[0].results, [{ s: 'str', i: 42, f: 1.5, t: 1, fa: 0, n: null, neg: -7, e: '' }]);
		const types = assertOk(
			await raw(db, {
				sql: 'SELECT typeof(?), typeof(?), typeof(?), typeof(?), typeof(?), typeof(?)',
				params: ['1', 1, 1.25, true, null, 'héllo ✓ 😀'],
			}),
		);
		assert.deepEqual(types[0].results.rows, [['text', 'integer', 'real', 'integer', 'null', 'text']]);
		const uni = assertOk(await query(db, { sql: 'SELECT ? AS u, length(?) AS n', params: ['héllo ✓ 😀', 'héllo ✓ 😀'] }));
		assert.deepEqual(uni[0].results, [{ u: 'héllo ✓ 😀', n: 9 }]);
	});

	test('?NNN parameters', async () => {
		const res = assertOk(await query(db, { sql: 'SELECT ?2 AS b, ?1 AS a, ?2 AS b2', params: ['x', 'y'] }));
		assert.deepEqual(res[0].results, [{ b: 'y', a: 'x', b2: 'y' }]);
		const r2 = assertOk(await raw(db, { sql: 'SELECT ?3, ?1', params: [1, 2, 3] }));
		assert.deepEqual(r2[0].results.rows, [[3, 1]]);
	});

	test('parameter count mismatch → 400 7500 "Wrong number of parameter bindings for SQL query."', async () => {
		const bodies = [
			{ sql: 'SELECT ?' },
			{ sql: 'SELECT ?', params: [] },
			{ sql: 'SELECT ?', params: [1, 2] },
			{ sql: 'SELECT 1', params: [1] },
			{ sql: 'SELECT ?1, ?3', params: [1, 2] },
			{ sql: 'SELECT ?; SELECT ?', params: [1] },
			{ sql: 'SELECT ?; SELECT ?', params: [1, 2, 3] },
			{ batch: [{ sql: 'SELECT ?', params: [1] }, { sql: 'SELECT ?' }] },
		];
		for (const kind of [query, raw]) {
			for (const body of bodies) {
				const e = assertErr(await kind(db, body), 400, 7500);
				assert.equal(e.message, WRONG_PARAMS, JSON.stringify(body));
			}
		}
	});

	test('at most 100 parameters: 100 work, 101 → 400', async () => {
		const n100 = Array.from({ length: 100 }, (_, i) => i + 1);
		const ok = assertOk(await query(db, { sql: 'SELECT ' + n100.map(() => '?').join(' + ') + ' AS s', params: n100 }));
		assert.deepEqual(ok[0].results, [{ s: 5050 }]);
		const n101 = [...n100, 101];
		assertErr(await query(db, { sql: 'SELECT ' + n101.map(() => '?').join(' + ') + ' AS s', params: n101 }), 400, null);
		assertErr(await raw(db, { sql: 'SELECT ?101', params: n101 }), 400, null);
	});

	test('a multi-statement sql consumes params in order across its statements', async () => {
		const t = await newDb();
		const res = assertResults(
			assertOk(
				await query(t, {
					sql: 'CREATE TABLE p(a, b); INSERT INTO p VALUES (?, ?); INSERT INTO p VALUES (?2, ?1); SELECT a, b FROM p WHERE a = ?',
					params: [1, 2, 3, 4, 4],
				}),
			),
			4,
		);
		assert.deepEqual(res[3].results, [{ a: 4, b: 3 }]);
		assert.deepEqual(await rows(t, 'SELECT a, b FROM p ORDER BY rowid'), [
			{ a: 1, b: 2 },
			{ a: 4, b: 3 },
		]);
	});

	test('named parameters are refused', async () => {
		assertErr(await query(db, { sql: 'SELECT :a', params: [1] }), 400, 7500);
		assertErr(await query(db, { sql: 'SELECT @a, $b', params: [1, 2] }), 400, 7500);
	});

	test('64-bit integers come out exact (literal and parameter)', async () => {
		const p = `${h.srv.dbPath()}/${db}/query`;
		const r1 = await h.srv.api('POST', p, { body: { sql: 'SELECT 9007199254740993 AS n, -9223372036854775808 AS lo, 9223372036854775807 AS hi' } });
		assertOk(r1);
		assert.ok(r1.text.includes('"n":9007199254740993'), r1.text);
		assert.ok(r1.text.includes('"lo":-9223372036854775808'), r1.text);
		assert.ok(r1.text.includes('"hi":9223372036854775807'), r1.text);
		// a parameter sent as an exact JSON integer (not possible from a JS number)
		const r2 = await h.srv.api('POST', p, { body: '{"sql":"SELECT ? AS n, typeof(?) AS t, ? + 1 AS m","params":[9007199254740993,9007199254740993,9007199254740993]}' });
		assertOk(r2);
		assert.ok(r2.text.includes('"n":9007199254740993'), r2.text);
		assert.ok(r2.text.includes('"t":"integer"'), r2.text);
		assert.ok(r2.text.includes('"m":9007199254740994'), r2.text);
	});

	// ---- values out ----

	test('values: INTEGER, REAL, TEXT, NULL, BLOB as byte arrays', async () => {
		const sql = "SELECT 7 AS i, -3 AS neg, 2.5 AS r, 1e300 AS big, 'tëxt\n\"q\"' AS s, NULL AS n, x'0102ff' AS b, x'' AS e, zeroblob(3) AS z";
		const q = assertOk(await query(db, { sql }));
		assert.deepEqual(q[0].results, [{ i: 7, neg: -3, r: 2.5, big: 1e300, s: 'tëxt\n"q"', n: null, b: [1, 2, 255], e: [], z: [0, 0, 0] }]);
		const r = assertOk(await raw(db, { sql }));
		assert.deepEqual(r[0].results, {
			columns: ['i', 'neg', 'r', 'big', 's', 'n', 'b', 'e', 'z'],
			rows: [[7, -3, 2.5, 1e300, 'tëxt\n"q"', null, [1, 2, 255], [], [0, 0, 0]]],
		});
		// stored values round-trip with their types
		const t = await newDb();
		assertOk(
			await query(t, {
				sql: "CREATE TABLE v(a ANY, b ANY, c ANY, d ANY, e ANY); INSERT INTO v VALUES (1, 0.5, 'x', NULL, x'00ff10')",
			}),
		);
		assert.deepEqual(await rows(t, 'SELECT * FROM v'), [{ a: 1, b: 0.5, c: 'x', d: null, e: [0, 255, 16] }]);
	});

	test('duplicate column names: /query keeps the last, /raw keeps all', async () => {
		const q = assertOk(await query(db, { sql: 'SELECT 1 AS x, 2 AS x' }));
		assert.deepEqual(q[0].results, [{ x: 2 }]);
		const q3 = assertOk(await query(db, { sql: "SELECT 1 AS x, 'b' AS y, 3 AS x" }));
		assert.deepEqual(q3[0].results, [{ x: 3, y: 'b' }]);
		const r = assertOk(await raw(db, { sql: 'SELECT 1 AS x, 2 AS x' }));
		assert.deepEqual(r[0].results, { columns: ['x', 'x'], rows: [[1, 2]] });
	});

	// ---- meta ----

	test('meta on every result: types, region, colo, changes, rows_written, changed_db, size_after', async () => {
		const t = await newDb();
		const sql = [
			'CREATE TABLE m(id INTEGER PRIMARY KEY, a)',
			'INSERT INTO m(a) VALUES (1), (2)',
			'SELECT * FROM m',
			'UPDATE m SET a = a + 1',
			'DELETE FROM m WHERE a = 3',
		].join('; ');
		for (const kind of [query, raw]) {
			const res = assertResults(assertOk(await kind(t, { sql: (kind === raw ? 'DROP TABLE m; ' : '') + sql })), kind === raw ? 6 : 5);
			const m = res.slice(-5).map((r) => r.meta);
			for (const x of res.map((r) => r.meta)) {
				assert.equal(x.served_by_region, 'ENAM');
				assert.equal(x.served_by_colo, 'SJC');
				assert.equal(x.served_by_primary, true);
				assert.deepEqual(Object.keys(x.timings), ['sql_duration_ms']);
				assert.equal(typeof x.timings.sql_duration_ms, 'number');
				assert.ok(x.timings.sql_duration_ms >= 0);
				assert.equal(typeof x.duration, 'number');
				assert.ok(x.duration >= 0);
				assert.ok(Number.isInteger(x.size_after) && x.size_after > 0 && x.size_after % 4096 === 0, `size_after ${x.size_after}`);
				for (const k of ['changes', 'last_row_id', 'rows_read', 'rows_written']) {
					assert.ok(Number.isInteger(x[k]) && x[k] >= 0, `${k} = ${x[k]}`);
				}
				assert.equal(typeof x.changed_db, 'boolean');
			}
			const [create, insert, select, update, del] = m;
			assert.equal(create.changed_db, true);
			assert.equal(insert.changes, 2);
			assert.equal(insert.rows_written, 2);
			assert.equal(insert.last_row_id, 2);
			assert.equal(insert.changed_db, true);
			assert.equal(select.changed_db, false);
			assert.equal(select.changes, 0);
			assert.equal(select.rows_written, 0);
			assert.ok(select.rows_read >= 2, `rows_read of a 2-row scan: ${select.rows_read}`);
			assert.equal(update.changes, 2);
			assert.equal(update.changed_db, true);
			assert.equal(del.changes, 1);
			assert.equal(del.changed_db, true);
		}
		// last_row_id of an explicit rowid; size grows with the data
		const before = assertOk(await query(t, { sql: 'SELECT 1' }))[0].meta.size_after;
		const ins = assertOk(await query(t, { sql: 'INSERT INTO m(id, a) VALUES (42, randomblob(200000))' }))[0].meta;
		assert.equal(ins.last_row_id, 42);
		assert.equal(ins.changes, 1);
		assert.ok(ins.size_after > before && ins.size_after >= 200000, `size_after ${ins.size_after} after a 200 kB insert (was ${before})`);
		assert.equal(ins.size_after % 4096, 0);
		// a SELECT reports the same size
		assert.equal(assertOk(await query(t, { sql: 'SELECT count(*) FROM m' }))[0].meta.size_after, ins.size_after);
	});

	test('rows_written counts index entries', async () => {
		const t = await newDb();
		const res = assertOk(await query(t, { sql: 'CREATE TABLE ix(a, b); CREATE INDEX ix_a ON ix(a); INSERT INTO ix VALUES (1, 1), (2, 2)' }));
		assert.equal(res[2].meta.changes, 2);
		assert.equal(res[2].meta.rows_written, 4);
	});

	test('served_by_region is the database location hint, upper-cased', async () => {
		const weur = await newDb({ primary_location_hint: 'weur' });
		const apac = await newDb({ primary_location_hint: 'apac' });
		assert.equal(assertOk(await query(weur, { sql: 'SELECT 1' }))[0].meta.served_by_region, 'WEUR');
		assert.equal(assertOk(await raw(apac, { sql: 'SELECT 1' }))[0].meta.served_by_region, 'APAC');
		assert.equal(assertOk(await query(db, { sql: 'SELECT 1' }))[0].meta.served_by_region, 'ENAM');
	});

	// ---- the sandbox ----

	test('sandbox: denied statements → 400 7500 "not authorized"', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE t(a)' }));
		const denied = [
			"ATTACH '/etc/passwd' AS x",
			"ATTACH ':memory:' AS mem",
			"ATTACH 'file:x.db?mode=memory' AS x",
			'DETACH x',
			'CREATE TEMP TABLE tt(a)',
			'CREATE TEMPORARY TABLE tt2(a)',
			'CREATE TEMP VIEW tv AS SELECT 1',
			'CREATE TEMP TRIGGER ttr AFTER INSERT ON t BEGIN SELECT 1; END',
			'SELECT * FROM temp.sqlite_master',
			'PRAGMA writable_schema=1',
			'PRAGMA writable_schema',
			'PRAGMA journal_mode=DELETE',
			'PRAGMA page_size=512',
			'PRAGMA cache_size=10',
			'PRAGMA temp.table_info(t)',
			"SELECT load_extension('x')",
			"SELECT load_extension('/usr/lib/x.so', 'init')",
			'SELECT sqlite_version()',
			'SELECT sqlite_source_id()',
			"SELECT sqlite_compileoption_used('ENABLE_FTS5')",
			'SELECT sqlite_compileoption_get(0)',
			'CREATE TABLE _cf_x(a)',
			'CREATE TABLE _CF_y(a)',
			'CREATE TABLE _Cf_KV(a)',
			'CREATE INDEX _cf_idx ON t(a)',
			'CREATE VIEW _cf_v AS SELECT 1',
			'ALTER TABLE t RENAME TO _cf_t',
			'CREATE VIRTUAL TABLE f4 USING fts4(a)',
			'CREATE VIRTUAL TABLE f3 USING fts3(a)',
			'SELECT * FROM dbstat',
			"SELECT * FROM dbstat('main')",
		];
		for (const sql of denied) {
			const e = assertErr(await query(t, { sql }), 400, 7500);
			assert.match(e.message, /not authorized/, `${sql} → ${e.message}`);
		}
		// a denial inside a batch applies nothing
		assertErr(await query(t, { batch: [{ sql: 'INSERT INTO t VALUES (1)' }, { sql: 'CREATE TABLE _cf_z(a)' }] }), 400, 7500, /not authorized/);
		assert.deepEqual(await schema(t), ['t']);
		assert.deepEqual(await rows(t, 'SELECT count(*) AS n FROM t'), [{ n: 0 }]);
	});

	test('sandbox: allowed PRAGMAs work', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL); CREATE INDEX t_name ON t(name)' }));
		const info = await rows(t, 'PRAGMA table_info(t)');
		assert.deepEqual(
			info.map((c) => [c.cid, c.name, c.type, c.notnull, c.pk]),
			[
				[0, 'id', 'INTEGER', 0, 1],
				[1, 'name', 'TEXT', 1, 0],
			],
		);
		assert.deepEqual(await rows(t, 'PRAGMA foreign_keys'), [{ foreign_keys: 1 }]);
		const list = await rows(t, 'PRAGMA table_list');
		assert.ok(list.some((r) => r.name === 't' && r.schema === 'main' && r.type === 'table'), JSON.stringify(list));
		assert.deepEqual((await rows(t, 'PRAGMA index_list(t)')).map((r) => r.name), ['t_name']);
		assert.deepEqual(await rows(t, 'PRAGMA quick_check'), [{ quick_check: 'ok' }]);
		assert.deepEqual(await rows(t, 'PRAGMA foreign_key_check'), []);
		assert.equal((await rows(t, 'SELECT * FROM pragma_table_info(?)', ['t'])).length, 2);
		assertOk(await query(t, { sql: 'PRAGMA optimize' }));
	});

	test('foreign keys are enforced by default; defer_foreign_keys works within a request', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE parent(id INTEGER PRIMARY KEY); CREATE TABLE child(pid INTEGER REFERENCES parent(id))' }));
		assertErr(await query(t, { sql: 'INSERT INTO child VALUES (7)' }), 400, 7500, /FOREIGN KEY constraint failed/);
		assert.deepEqual(await rows(t, 'SELECT count(*) AS n FROM child'), [{ n: 0 }]);
		// deferred: child first, then parent, in one request
		assertOk(await query(t, { sql: 'PRAGMA defer_foreign_keys=ON; INSERT INTO child VALUES (8); INSERT INTO parent VALUES (8)' }));
		// the next request is back to immediate enforcement
		assertErr(await query(t, { sql: 'INSERT INTO child VALUES (10); INSERT INTO parent VALUES (10)' }), 400, 7500, /FOREIGN KEY constraint failed/);
		assert.deepEqual(await rows(t, 'SELECT pid FROM child ORDER BY pid'), [{ pid: 8 }]);
		assert.deepEqual(await rows(t, 'PRAGMA foreign_keys'), [{ foreign_keys: 1 }]);
		// deferred but never fixed: fails at commit (an SQL error, not an
		// internal one), nothing applied
		const res = await query(t, { sql: 'PRAGMA defer_foreign_keys=ON; INSERT INTO child VALUES (9)' });
		assert.deepEqual(await rows(t, 'SELECT pid FROM child ORDER BY pid'), [{ pid: 8 }]);
		assertErr(res, 400, 7500, /^FOREIGN KEY constraint failed: SQLITE_CONSTRAINT$/);
	});

	test('fts5, rtree, JSON and math functions are available', async () => {
		const t = await newDb();
		const res = assertOk(
			await query(t, {
				sql: [
					'CREATE VIRTUAL TABLE docs USING fts5(title, body)',
					"INSERT INTO docs VALUES ('one', 'hello world'), ('two', 'other text')",
					"SELECT title, body FROM docs WHERE docs MATCH 'hello'",
				].join('; '),
			}),
		);
		assert.deepEqual(res[2].results, [{ title: 'one', body: 'hello world' }]);
		assert.deepEqual(await rows(t, 'SELECT title FROM docs WHERE docs MATCH ? ORDER BY rank', ['text']), [{ title: 'two' }]);
		assertOk(await query(t, { sql: "CREATE VIRTUAL TABLE v USING fts5vocab('docs', 'row')" }));
		assert.ok((await rows(t, 'SELECT term FROM v')).some((r) => r.term === 'hello'));

		assertOk(
			await query(t, {
				sql: 'CREATE VIRTUAL TABLE box USING rtree(id, minX, maxX, minY, maxY); INSERT INTO box VALUES (1, 0, 10, 0, 10), (2, 20, 30, 20, 30)',
			}),
		);
		assert.deepEqual(await rows(t, 'SELECT id FROM box WHERE minX <= 5 AND maxX >= 5 AND minY <= 5 AND maxY >= 5'), [{ id: 1 }]);

		assert.deepEqual(await rows(t, `SELECT json_extract('{"a":[1,2]}', '$.a[1]') AS v, json_array(1, 'x') AS j`), [{ v: 2, j: '[1,"x"]' }]);
		assert.deepEqual(await rows(t, 'SELECT sqrt(16) AS s, pow(2, 10) AS p'), [{ s: 4, p: 1024 }]);
	});

	test('everyday SQL passes the sandbox: upsert, views, window functions, json_each, WITHOUT ROWID, cascades, STRICT', async () => {
		const t = await newDb();
		const res = assertOk(
			await query(t, {
				sql: [
					'CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER UNIQUE, b TEXT, g INTEGER AS (a * 2) STORED) STRICT',
					"INSERT INTO t(a, b) VALUES (1, 'x') ON CONFLICT(a) DO UPDATE SET b = excluded.b",
					"INSERT INTO t(a, b) VALUES (1, 'y') ON CONFLICT(a) DO UPDATE SET b = excluded.b RETURNING id, b",
					'CREATE VIEW v AS SELECT a, row_number() OVER (ORDER BY a) AS rn FROM t',
					'SELECT * FROM v',
					"SELECT sum(value) AS s FROM json_each('[1,2,3]')",
					"CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID; INSERT INTO w VALUES ('a', 1)",
					'CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(pid REFERENCES p(id) ON DELETE CASCADE)',
					'INSERT INTO p VALUES (1); INSERT INTO c VALUES (1); DELETE FROM p; SELECT count(*) AS n FROM c',
				].join('; '),
			}),
		);
		assert.deepEqual(res[2].results, [{ id: 1, b: 'y' }]);
		assert.deepEqual(res[4].results, [{ a: 1, rn: 1 }]);
		assert.deepEqual(res[5].results, [{ s: 6 }]);
		assert.deepEqual(res.at(-1).results, [{ n: 0 }]);
		assert.deepEqual(await rows(t, 'SELECT * FROM t'), [{ id: 1, a: 1, b: 'y', g: 2 }]);
		// a toggled PRAGMA lasts for its request only
		assert.deepEqual(assertOk(await query(t, { sql: "PRAGMA case_sensitive_like=ON; SELECT 'a' LIKE 'A' AS m" }))[1].results, [{ m: 0 }]);
		assert.deepEqual(await rows(t, "SELECT 'a' LIKE 'A' AS m"), [{ m: 1 }]);
	});

	test('ALTER TABLE: RENAME TO, ADD, RENAME and DROP COLUMN work', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: "CREATE TABLE t(a, b, c); INSERT INTO t VALUES (1, 2, 3)" }));
		const ok = [];
		for (const sql of ['ALTER TABLE t ADD COLUMN d DEFAULT 4', 'ALTER TABLE t RENAME COLUMN a TO aa', 'ALTER TABLE t DROP COLUMN b', 'ALTER TABLE t RENAME TO t2']) {
			const res = await query(t, { sql });
			ok.push(`${sql} → HTTP ${res.status} ${res.status === 200 ? '' : res.json?.errors?.[0]?.message}`);
		}
		assert.deepEqual(
			ok,
			[
				'ALTER TABLE t ADD COLUMN d DEFAULT 4 → HTTP 200 ',
				'ALTER TABLE t RENAME COLUMN a TO aa → HTTP 200 ',
				'ALTER TABLE t DROP COLUMN b → HTTP 200 ',
				'ALTER TABLE t RENAME TO t2 → HTTP 200 ',
			],
		);
		assert.deepEqual(await rows(t, 'SELECT * FROM t2'), [{ aa: 1, c: 3, d: 4 }]);
	});

	test('VACUUM INTO fails and creates no file', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE t(a); INSERT INTO t VALUES (1)' }));
		const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'd1d-vacuum-'));
		try {
			const target = path.join(dir, 'stolen.db');
			assertErr(await query(t, { sql: `VACUUM INTO '${target}'` }), 400, 7500);
			assertErr(await query(t, { sql: 'VACUUM INTO ?', params: [target] }), 400, 7500);
			assert.ok(!fs.existsSync(target), `${target} was created`);
			assert.deepEqual(fs.readdirSync(dir), []);
		} finally {
			await fsp.rm(dir, { recursive: true, force: true });
		}
		assert.deepEqual(await rows(t, 'SELECT a FROM t'), [{ a: 1 }]);
	});

	// ---- limits ----

	test('limits: strings and BLOBs over 2,000,000 bytes → SQLITE_TOOBIG', async () => {
		assert.deepEqual(await rows(db, 'SELECT length(zeroblob(2000000)) AS n'), [{ n: 2000000 }]);
		for (const sql of ['SELECT zeroblob(2000001)', 'SELECT randomblob(2000001)', "SELECT hex(zeroblob(1000001))"]) {
			assertErr(await query(db, { sql }), 400, 7500, /SQLITE_TOOBIG/);
		}
		const half = 'a'.repeat(1000001);
		assertErr(await query(db, { sql: 'SELECT ? || ? AS s', params: [half, half] }), 400, 7500, /SQLITE_TOOBIG/);
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE big(b)' }));
		assertErr(await query(t, { sql: 'INSERT INTO big VALUES (zeroblob(2000001))' }), 400, 7500, /SQLITE_TOOBIG/);
		assert.deepEqual(await rows(t, 'SELECT count(*) AS n FROM big'), [{ n: 0 }]);
		// a bound string parameter over the limit (an SQL error, not an internal one)
		const res = await query(t, { sql: 'INSERT INTO big VALUES (?)', params: ['a'.repeat(2000001)] });
		assert.deepEqual(await rows(t, 'SELECT count(*) AS n FROM big'), [{ n: 0 }]);
		assertErr(res, 400, 7500, /SQLITE_TOOBIG/);
	});

	test('limits: 100 columns per table, 50-byte LIKE patterns, 32 function arguments, 100,000-byte statements', async () => {
		const t = await newDb();
		const cols = (n) => Array.from({ length: n }, (_, i) => `c${i}`).join(', ');
		assertOk(await query(t, { sql: `CREATE TABLE w100(${cols(100)})` }));
		assertErr(await query(t, { sql: `CREATE TABLE w101(${cols(101)})` }), 400, 7500);
		assert.deepEqual(await schema(t), ['w100']);

		assert.deepEqual(await rows(t, `SELECT 'a' LIKE '${'%'.repeat(49)}a' AS m`), [{ m: 1 }]);
		assertErr(await query(t, { sql: `SELECT 'a' LIKE '${'%'.repeat(50)}a' AS m` }), 400, 7500);
		assertErr(await query(t, { sql: "SELECT 'a' LIKE ?", params: ['a'.repeat(51)] }), 400, 7500);
		assertErr(await query(t, { sql: `SELECT 'a' GLOB '${'*'.repeat(51)}'` }), 400, 7500);

		const args = (n) => Array.from({ length: n }, (_, i) => i).join(', ');
		assert.deepEqual(await rows(t, `SELECT max(${args(32)}) AS m`), [{ m: 31 }]);
		assertErr(await query(t, { sql: `SELECT max(${args(33)}) AS m` }), 400, 7500);

		assertErr(await query(t, { sql: `SELECT '${'a'.repeat(100001)}' AS s` }), 400, 7500);
	});

	// ---- tokens and isolation ----

	test('read-only token: SELECT works; writes → 403 10000 and nothing changes', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE t(a); INSERT INTO t VALUES (1)' }));
		const ro = { token: h.srv.roToken };
		assert.deepEqual(assertOk(await query(t, { sql: 'SELECT a FROM t' }, ro))[0].results, [{ a: 1 }]);
		assert.deepEqual(assertOk(await raw(t, { batch: [{ sql: 'SELECT a FROM t' }, { sql: 'SELECT 2' }] }, ro))[1].results.rows, [[2]]);
		for (const body of [
			{ sql: 'INSERT INTO t VALUES (2)' },
			{ sql: 'SELECT a FROM t; INSERT INTO t VALUES (3)' },
			{ sql: 'CREATE TABLE t2(a)' },
			{ sql: 'DELETE FROM t' },
			{ batch: [{ sql: 'SELECT 1' }, { sql: 'UPDATE t SET a = 9' }] },
		]) {
			assertErr(await query(t, body, ro), 403, 10000);
			assertErr(await raw(t, body, ro), 403, 10000);
		}
		assert.deepEqual(await rows(t, 'SELECT a FROM t'), [{ a: 1 }]);
		assert.deepEqual(await schema(t), ['t']);
	});

	test("another account's token → 403 7403; unknown database → 404 7404; no token → 401", async () => {
		const other = h.srv.accounts[1];
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE t(a)' }));
		// our account's path with the other account's token
		assertErr(await query(t, { sql: 'SELECT 1' }, { token: other.tokens.rw }), 403, 7403);
		assertErr(await raw(t, { sql: 'INSERT INTO t VALUES (1)' }, { token: other.tokens.rw }), 403, 7403);
		// the other account's own path does not reach our database
		assertErr(await query(t, { sql: 'SELECT 1' }, { token: other.tokens.rw, accountId: other.id }), 404, 7404);
		assertErr(await raw(t, { sql: 'INSERT INTO t VALUES (1)' }, { token: other.tokens.rw, accountId: other.id }), 404, 7404);
		// unknown database, by uuid and by name
		const missing = '00000000-0000-4000-8000-000000000000';
		assertErr(await query(missing, { sql: 'SELECT 1' }), 404, 7404, new RegExp(missing));
		assertErr(await raw('no-such-db', { sql: 'SELECT 1' }), 404, 7404, /no-such-db/);
		// no credentials
		const noauth = await query(t, { sql: 'SELECT 1' }, { token: null });
		assert.equal(noauth.status, 401, noauth.text);
		assert.deepEqual(await rows(t, 'SELECT count(*) AS n FROM t'), [{ n: 0 }]);
	});

	// ---- concurrency ----

	test('50 concurrent single-row INSERTs all succeed', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE c(id INTEGER PRIMARY KEY, v INTEGER)' }));
		const res = await Promise.all(Array.from({ length: 50 }, (_, i) => query(t, { sql: 'INSERT INTO c(v) VALUES (?)', params: [i] })));
		const ids = res.map((r) => {
			const q = assertOk(r);
			assert.equal(q[0].meta.changes, 1);
			return q[0].meta.last_row_id;
		});
		assert.equal(new Set(ids).size, 50, `last_row_ids: ${ids}`);
		assert.deepEqual(await rows(t, 'SELECT count(*) AS n, count(DISTINCT v) AS d, min(v) AS lo, max(v) AS hi FROM c'), [{ n: 50, d: 50, lo: 0, hi: 49 }]);
	});

	test('50 good and 10 failing concurrent writes: the good all land, the failures change nothing', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE c(v INTEGER)' }));
		const reqs = [];
		for (let i = 0; i < 60; i++) {
			if (i % 6 === 5) reqs.push(query(t, { sql: 'INSERT INTO c VALUES (?); INSERT INTO missing VALUES (1)', params: [1000 + i] }).then((r) => ['bad', r]));
			else reqs.push(query(t, { sql: 'INSERT INTO c VALUES (?)', params: [i] }).then((r) => ['good', r]));
		}
		const out = await Promise.all(reqs);
		let good = 0;
		let bad = 0;
		for (const [kind, r] of out) {
			if (kind === 'good') {
				assertOk(r);
				good++;
			} else {
				assertErr(r, 400, 7500, /^no such table: missing: SQLITE_ERROR$/);
				bad++;
			}
		}
		assert.deepEqual([good, bad], [50, 10]);
		assert.deepEqual(await rows(t, 'SELECT count(*) AS n, count(DISTINCT v) AS d, max(v) AS hi FROM c'), [{ n: 50, d: 50, hi: 58 }]);
	});

	test('reads answer while a long write runs in another request', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE big(x); INSERT INTO big VALUES (0)' }));
		let writeDone = 0;
		const t0 = Date.now();
		const write = query(t, {
			sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) INSERT INTO big SELECT x FROM c; ' +
				'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) INSERT INTO big SELECT sum(x) FROM c',
		}).then((r) => {
			writeDone = Date.now();
			return r;
		});
		await sleep(80);
		const reads = [];
		for (let i = 0; i < 3; i++) {
			const r = await query(t, { sql: 'SELECT count(*) AS n FROM big' });
			reads.push({ at: Date.now(), n: assertOk(r)[0].results[0].n, pending: writeDone === 0 });
		}
		const w = assertOk(await write);
		assert.equal(w[0].meta.changes, 200000);
		assert.ok(reads.every((r) => r.pending), `reads waited for the write (write took ${writeDone - t0} ms; reads at ${reads.map((r) => r.at - t0)} ms)`);
		// the reads saw the state before the write
		assert.deepEqual(reads.map((r) => r.n), [1, 1, 1]);
		assert.deepEqual(await rows(t, 'SELECT count(*) AS n FROM big'), [{ n: 200002 }]);
	});

	// ---- the SDK ----

	test('SDK: d1.database.query and .raw, single and batch, and errors', async () => {
		const client = h.srv.sdk();
		const account_id = h.srv.account.id;
		const t = await newDb();
		const made = await client.d1.database.query(t, { account_id, sql: "CREATE TABLE s(a, b); INSERT INTO s VALUES (?, ?), (2, 'two')", params: ['1', 'one'] });
		assert.equal(made.result.length, 2);
		assert.equal(made.result[1].meta.changes, 2);

		const got = [];
		for await (const r of client.d1.database.query(t, { account_id, sql: 'SELECT a, b FROM s WHERE b = ? OR b = ? ORDER BY b', params: ['one', 'two'] })) got.push(r);
		assert.equal(got.length, 1);
		assert.equal(got[0].success, true);
		assert.deepEqual(got[0].results, [{ a: '1', b: 'one' }, { a: 2, b: 'two' }]);
		assert.equal(got[0].meta.served_by_region, 'ENAM');

		const rawPage = await client.d1.database.raw(t, { account_id, sql: 'SELECT a, b FROM s ORDER BY rowid' });
		assert.deepEqual(rawPage.result[0].results, { columns: ['a', 'b'], rows: [['1', 'one'], [2, 'two']] });

		const batch = await client.d1.database.query(t, {
			account_id,
			batch: [{ sql: 'INSERT INTO s VALUES (?, ?)', params: ['3', 'three'] }, { sql: 'SELECT count(*) AS n FROM s' }],
		});
		assert.deepEqual(batch.result.map((r) => r.results), [[], [{ n: 3 }]]);
		const rawBatch = await client.d1.database.raw(t, { account_id, batch: [{ sql: 'SELECT 1 AS x, 2 AS x' }, { sql: 'SELECT ? AS p', params: ['q'] }] });
		assert.deepEqual(rawBatch.result.map((r) => r.results), [{ columns: ['x', 'x'], rows: [[1, 2]] }, { columns: ['p'], rows: [['q']] }]);

		let e = await assertSdkErr(client.d1.database.query(t, { account_id, sql: 'SELECT * FROM nope' }), 400, 7500);
		assert.equal(e.errors[0].message, 'no such table: nope: SQLITE_ERROR');
		e = await assertSdkErr(client.d1.database.raw(t, { account_id, sql: 'SELECT ?', params: [] }), 400, 7500);
		assert.equal(e.errors[0].message, WRONG_PARAMS);
		await assertSdkErr(client.d1.database.query(t, { account_id, sql: '' }), 400, 7400);
		await assertSdkErr(client.d1.database.query('00000000-0000-4000-8000-000000000000', { account_id, sql: 'SELECT 1' }), 404, 7404);
		await assertSdkErr(h.srv.sdk(h.srv.roToken).d1.database.query(t, { account_id, sql: 'DELETE FROM s' }), 403, 10000);
		assert.deepEqual(await rows(t, 'SELECT count(*) AS n FROM s'), [{ n: 3 }]);
	});
});

describe('query timeout', () => {
	const h = useServer({ args: ['--query-timeout-ms', '300'] });
	const { query, raw, newDb, rows } = helpers(h);
	const FOREVER = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';

	test('a runaway read → 400 7500 SQLITE_INTERRUPT, promptly', async () => {
		const t = await newDb();
		for (const kind of [query, raw]) {
			const t0 = Date.now();
			const res = await kind(t, { sql: FOREVER });
			const ms = Date.now() - t0;
			assertErr(res, 400, 7500, /SQLITE_INTERRUPT/);
			assert.ok(ms < 3000, `answered after ${ms} ms`);
		}
		// the database still answers afterwards
		assert.deepEqual(await rows(t, 'SELECT 1 AS one'), [{ one: 1 }]);
	});

	test('a write that times out leaves the database unchanged', async () => {
		const t = await newDb();
		assertOk(await query(t, { sql: 'CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3)' }));
		const t0 = Date.now();
		const res = await query(t, {
			sql: 'INSERT INTO t VALUES (99); DELETE FROM t WHERE x = 1; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) INSERT INTO t SELECT x FROM c',
		});
		assertErr(res, 400, 7500, /SQLITE_INTERRUPT/);
		assert.ok(Date.now() - t0 < 3000, `answered after ${Date.now() - t0} ms`);
		// in a batch too
		assertErr(await query(t, { batch: [{ sql: 'DELETE FROM t' }, { sql: FOREVER }] }), 400, 7500, /SQLITE_INTERRUPT/);
		assert.deepEqual(await rows(t, 'SELECT x FROM t ORDER BY x'), [{ x: 1 }, { x: 2 }, { x: 3 }]);
		// and writes work afterwards
		assertOk(await query(t, { sql: 'INSERT INTO t VALUES (4)' }));
		assert.deepEqual(await rows(t, 'SELECT count(*) AS n FROM t'), [{ n: 4 }]);
	});

	test('other databases answer while one runs into its timeout', async () => {
		const a = await newDb();
		const b = await newDb();
		assertOk(await query(a, { sql: 'CREATE TABLE t(x)' }));
		assertOk(await query(b, { sql: 'CREATE TABLE t(x)' }));
		let slowDone = 0;
		const slowRead = query(a, { sql: FOREVER }).then((r) => ((slowDone = Date.now()), r));
		const slowWrite = query(a, { sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) INSERT INTO t SELECT x FROM c' });
		await sleep(30);
		const t0 = Date.now();
		for (let i = 0; i < 3; i++) {
			assertOk(await query(b, { sql: 'INSERT INTO t VALUES (?)', params: [i] }));
			assertOk(await raw(b, { sql: 'SELECT count(*) FROM t' }));
		}
		const fastMs = Date.now() - t0;
		const fastDone = Date.now();
		assertErr(await slowRead, 400, 7500, /SQLITE_INTERRUPT/);
		assertErr(await slowWrite, 400, 7500, /SQLITE_INTERRUPT/);
		assert.ok(fastDone < slowDone, `the other database answered only after the slow query (${fastMs} ms for 6 requests)`);
		assert.deepEqual(await rows(b, 'SELECT count(*) AS n FROM t'), [{ n: 3 }]);
		assert.deepEqual(await rows(a, 'SELECT count(*) AS n FROM t'), [{ n: 0 }]);
	});
});
