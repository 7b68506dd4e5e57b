// The database management endpoints through raw HTTP: create, get, update,
// delete, validation, limits.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
	useServer, startServer, assertOk, assertErr, createDb, sqliteFileOf,
	UUID_V4_RE, CREATED_AT_RE,
} from './harness.mjs';

const RANDOM_UUID = '5f0c8a1e-2b3d-4c5e-9f60-718293a4b5c6';
const D1_KEYS = ['uuid', 'name', 'created_at', 'version', 'jurisdiction', 'file_size', 'num_tables', 'read_replication'];

function assertD1(obj, { name, jurisdiction = null, mode = 'disabled' } = {}) {
	assert.ok(obj && typeof obj === 'object', JSON.stringify(obj));
	for (const k of D1_KEYS) assert.ok(k in obj, `D1 object lacks ${k}: ${JSON.stringify(obj)}`);
	assert.match(obj.uuid, UUID_V4_RE);
	if (name !== undefined) assert.equal(obj.name, name);
	assert.match(obj.created_at, CREATED_AT_RE);
	assert.equal(obj.version, 'production');
	assert.equal(obj.jurisdiction, jurisdiction);
	assert.equal(typeof obj.file_size, 'number');
	assert.ok(Number.isInteger(obj.file_size) && obj.file_size > 0, `file_size ${obj.file_size}`);
	assert.equal(typeof obj.num_tables, 'number');
	assert.deepEqual(obj.read_replication, { mode });
}

describe('databases: create', () => {
	const h = useServer({
		accounts: [
			{ name: 'one', email: 'one@example.com' },
			{ name: 'two', email: 'two@example.com' },
		],
	});

	test('create answers the D1 object', async () => {
		const srv = h.srv;
		const before = Date.now();
		const r = await srv.api('POST', srv.dbPath(), { body: { name: 'first-db' } });
		const db = assertOk(r);
		assertD1(db, { name: 'first-db' });
		assert.equal(db.num_tables, 0);
		const t = Date.parse(db.created_at);
		assert.ok(Math.abs(t - before) < 60000, `created_at ${db.created_at} is not now`);
		assert.ok(Array.isArray(r.json.messages));
	});

	test('file_size is the real size of the SQLite file on disk', async () => {
		const srv = h.srv;
		const db = await createDb(srv, 'size-db');
		const dir = path.join(srv.dataDir, 'databases', db.uuid);
		assert.ok(fs.statSync(dir).isDirectory(), `${dir} is not a directory`);
		const files = sqliteFileOf(srv.dataDir, db.uuid);
		assert.equal(files.length, 1, `expected one SQLite file under ${dir}, found ${JSON.stringify(files)}`);
		assert.equal(db.file_size, fs.statSync(files[0]).size);
		const got = assertOk(await srv.api('GET', `${srv.dbPath()}/${db.uuid}`));
		assert.equal(got.file_size, fs.statSync(files[0]).size);
	});

	test('uuids are unique v4 and names are kept verbatim', async () => {
		const srv = h.srv;
		const names = ['A', 'z', '0', '_', '-', 'Mixed_Case-09', 'x'.repeat(64)];
		const seen = new Set();
		for (const n of names) {
			const db = await createDb(srv, n);
			assertD1(db, { name: n });
			assert.ok(!seen.has(db.uuid));
			seen.add(db.uuid);
			const got = assertOk(await srv.api('GET', `${srv.dbPath()}/${db.uuid}`));
			assert.equal(got.name, n);
		}
	});

	test('jurisdiction and primary_location_hint', async () => {
		const srv = h.srv;
		for (const j of ['eu', 'fedramp', 'us']) {
			const db = await createDb(srv, `jur-${j}`, { extra: { jurisdiction: j } });
			assertD1(db, { name: `jur-${j}`, jurisdiction: j });
			const got = assertOk(await srv.api('GET', `${srv.dbPath()}/jur-${j}`));
			assert.equal(got.jurisdiction, j);
		}
		for (const hint of ['wnam', 'enam', 'weur', 'eeur', 'apac', 'oc', 'WEUR', 'Apac']) {
			const db = await createDb(srv, `hint-${hint}`, { extra: { primary_location_hint: hint } });
			assertD1(db, { name: `hint-${hint}`, jurisdiction: null });
		}
		const both = await createDb(srv, 'hint-and-jur', { extra: { primary_location_hint: 'weur', jurisdiction: 'eu' } });
		assertD1(both, { name: 'hint-and-jur', jurisdiction: 'eu' });
	});

	test('invalid fields → 400 code 7400 naming the field', async () => {
		const srv = h.srv;
		const p = srv.dbPath();
		const cases = [
			[{}, /name/],
			[{ name: '' }, /name/],
			[{ name: 'x'.repeat(65) }, /name/],
			[{ name: 'has space' }, /name/],
			[{ name: 'dot.name' }, /name/],
			[{ name: 'slash/name' }, /name/],
			[{ name: 'ünïcode' }, /name/],
			[{ name: 'semi;colon' }, /name/],
			[{ name: 123 }, /name/],
			[{ name: null }, /name/],
			[{ name: ['a'] }, /name/],
			[{ name: '123e4567-e89b-42d3-a456-426614174000' }, /name/],
			[{ name: 'bad-jur', jurisdiction: 'asia' }, /jurisdiction/],
			[{ name: 'bad-jur2', jurisdiction: 5 }, /jurisdiction/],
			[{ name: 'bad-jur3', jurisdiction: '' }, /jurisdiction/],
			[{ name: 'bad-hint', primary_location_hint: 'mars' }, /primary_location_hint/],
			[{ name: 'bad-hint2', primary_location_hint: 7 }, /primary_location_hint/],
			[{ name: 'bad-hint3', primary_location_hint: '' }, /primary_location_hint/],
			[{ name: 'unknown-field', colour: 'blue' }, /colour/],
		];
		for (const [body, re] of cases) {
			const r = await srv.api('POST', p, { body });
			assertErr(r, 400, 7400, re);
		}
		// nothing was created by any of them
		const list = assertOk(await srv.api('GET', `${p}?name=bad-`));
		assert.deepEqual(list, []);
		assert.deepEqual(assertOk(await srv.api('GET', `${p}?name=unknown-field`)), []);
	});

	test('non-JSON and non-object bodies → 400 code 7400', async () => {
		const srv = h.srv;
		const p = srv.dbPath();
		for (const body of ['', 'not json', '{"name": "trunc', '{"name":"a"} trailing', '[]', '"a-string"', 'null', '42', '{"name":"dup-key","name":"dup-key2"']) {
			assertErr(await srv.api('POST', p, { body }), 400, 7400);
		}
		// no body at all
		assertErr(await srv.api('POST', p, {}), 400, 7400);
	});

	test('duplicate name → 400 code 7502; same name in another account is fine', async () => {
		const srv = h.srv;
		const [one, two] = srv.accounts;
		const first = await createDb(srv, 'dup-name');
		const r = await srv.api('POST', srv.dbPath(one.id), { body: { name: 'dup-name' } });
		assertErr(r, 400, 7502, /^A database with that name already exists\.$/);
		const other = await createDb(srv, 'dup-name', { token: two.tokens.rw, accountId: two.id });
		assertD1(other, { name: 'dup-name' });
		assert.notEqual(other.uuid, first.uuid);
		// each account resolves the name to its own database
		assert.equal(assertOk(await srv.api('GET', `${srv.dbPath(one.id)}/dup-name`)).uuid, first.uuid);
		assert.equal(assertOk(await srv.api('GET', `${srv.dbPath(two.id)}/dup-name`, { token: two.tokens.rw })).uuid, other.uuid);
		// and only one in account one
		const list = assertOk(await srv.api('GET', `${srv.dbPath(one.id)}?name=dup-name`));
		assert.equal(list.length, 1);
	});

	test('concurrent creates of one name: exactly one wins', async () => {
		const srv = h.srv;
		const rs = await Promise.all(Array.from({ length: 12 }, () => srv.api('POST', srv.dbPath(), { body: { name: 'race-name' } })));
		const ok = rs.filter((r) => r.status === 200);
		assert.equal(ok.length, 1, rs.map((r) => r.status).join(','));
		for (const r of rs) if (r.status !== 200) assertErr(r, 400, 7502);
		const list = assertOk(await srv.api('GET', `${srv.dbPath()}?name=race-name`));
		assert.equal(list.length, 1);
		assert.equal(list[0].uuid, ok[0].json.result.uuid);
	});

	test('concurrent creates of different names all succeed', async () => {
		const srv = h.srv;
		const n = 30;
		const rs = await Promise.all(Array.from({ length: n }, (_, i) => srv.api('POST', srv.dbPath(), { body: { name: `par-${String(i).padStart(2, '0')}` } })));
		const uuids = new Set(rs.map((r) => assertOk(r).uuid));
		assert.equal(uuids.size, n);
		const list = assertOk(await srv.api('GET', `${srv.dbPath()}?name=par-`));
		assert.equal(list.length, n);
		assert.deepEqual(new Set(list.map((d) => d.uuid)), uuids);
		for (const u of uuids) assert.ok(fs.existsSync(path.join(srv.dataDir, 'databases', u)), `no directory for ${u}`);
	});
});

describe('databases: get', () => {
	const h = useServer();

	test('get by uuid and by name answer the same D1 object', async () => {
		const srv = h.srv;
		const db = await createDb(srv, 'get-me');
		const byId = assertOk(await srv.api('GET', `${srv.dbPath()}/${db.uuid}`));
		const byName = assertOk(await srv.api('GET', `${srv.dbPath()}/get-me`));
		assertD1(byId, { name: 'get-me' });
		assert.deepEqual(byName, byId);
		assert.equal(byId.uuid, db.uuid);
		assert.equal(byId.created_at, db.created_at);
		assert.equal(byId.num_tables, 0);
	});

	test('num_tables counts user tables, not sqlite_* ones; file_size grows', async () => {
		const srv = h.srv;
		const db = await createDb(srv, 'tables-counted');
		const sql = 'CREATE TABLE a(x INTEGER PRIMARY KEY AUTOINCREMENT, y); CREATE TABLE b(z); INSERT INTO a(y) VALUES (zeroblob(20000))';
		assertOk(await srv.api('POST', `${srv.dbPath()}/${db.uuid}/query`, { body: { sql } }));
		const got = assertOk(await srv.api('GET', `${srv.dbPath()}/${db.uuid}?fields=num_tables,file_size`));
		assert.equal(got.num_tables, 2); // sqlite_sequence is not counted
		assert.ok(got.file_size > db.file_size + 20000, `file_size ${db.file_size} → ${got.file_size}`);
	});

	test('fields selects keys (comma list and repeated parameter)', async () => {
		const srv = h.srv;
		const db = await createDb(srv, 'fields-db');
		const p = `${srv.dbPath()}/fields-db`;
		const want = { uuid: db.uuid, name: 'fields-db' };
		assert.deepEqual(assertOk(await srv.api('GET', `${p}?fields=uuid,name`)), want);
		assert.deepEqual(assertOk(await srv.api('GET', `${p}?fields=uuid&fields=name`)), want);
		assert.deepEqual(assertOk(await srv.api('GET', `${p}?fields=uuid%2Cname`)), want);
		assert.deepEqual(assertOk(await srv.api('GET', `${srv.dbPath()}/${db.uuid}?fields=name`)), { name: 'fields-db' });
		const three = assertOk(await srv.api('GET', `${p}?fields=created_at&fields=version,read_replication`));
		assert.deepEqual(three, { created_at: db.created_at, version: 'production', read_replication: { mode: 'disabled' } });
		const j = assertOk(await srv.api('GET', `${p}?fields=jurisdiction,num_tables`));
		assert.deepEqual(j, { jurisdiction: null, num_tables: 0 });
		const fsz = assertOk(await srv.api('GET', `${p}?fields=file_size`));
		assert.deepEqual(Object.keys(fsz), ['file_size']);
		assert.ok(fsz.file_size > 0);
	});

	test('unknown field name → 400 code 7400', async () => {
		const srv = h.srv;
		await createDb(srv, 'fields-bad');
		const p = `${srv.dbPath()}/fields-bad`;
		assertErr(await srv.api('GET', `${p}?fields=bogus`), 400, 7400, /bogus|fields/);
		assertErr(await srv.api('GET', `${p}?fields=uuid,bogus`), 400, 7400);
		assertErr(await srv.api('GET', `${p}?fields=uuid&fields=nope`), 400, 7400);
	});

	test('not found → 404 code 7404 with the id in the message', async () => {
		const srv = h.srv;
		for (const id of ['no-such-db', RANDOM_UUID, 'x'.repeat(64)]) {
			assertErr(await srv.api('GET', `${srv.dbPath()}/${id}`), 404, 7404, new RegExp(`^The database ${id} could not be found$`));
		}
		assertErr(await srv.api('GET', `${srv.dbPath()}/no-such-db?fields=uuid,name`), 404, 7404, /^The database no-such-db could not be found$/);
	});

	test('an id that is neither a valid name nor a uuid → 400 code 7400', async () => {
		const srv = h.srv;
		for (const id of ['bad$id', 'x'.repeat(65), 'has%20space', 'a.b', 'semi;colon']) {
			assertErr(await srv.api('GET', `${srv.dbPath()}/${id}`), 400, 7400);
		}
	});
});

describe('databases: update', () => {
	const h = useServer();

	test('PUT read_replication mode answers and persists the D1 object', async () => {
		const srv = h.srv;
		const db = await createDb(srv, 'put-db');
		const p = `${srv.dbPath()}/${db.uuid}`;
		const r1 = assertOk(await srv.api('PUT', p, { body: { read_replication: { mode: 'auto' } } }));
		assertD1(r1, { name: 'put-db', mode: 'auto' });
		assert.equal(r1.uuid, db.uuid);
		assert.equal(r1.created_at, db.created_at);
		assert.equal(assertOk(await srv.api('GET', p)).read_replication.mode, 'auto');
		const r2 = assertOk(await srv.api('PUT', `${srv.dbPath()}/put-db`, { body: { read_replication: { mode: 'disabled' } } }));
		assertD1(r2, { name: 'put-db', mode: 'disabled' });
		assert.equal(assertOk(await srv.api('GET', p)).read_replication.mode, 'disabled');
	});

	test('PUT without read_replication or with bad values → 400', async () => {
		const srv = h.srv;
		const db = await createDb(srv, 'put-bad');
		const p = `${srv.dbPath()}/${db.uuid}`;
		assertErr(await srv.api('PUT', p, { body: {} }), 400, 7400, /read_replication/);
		assertErr(await srv.api('PUT', p, { body: { read_replication: {} } }), 400, 7400, /mode|read_replication/);
		assertErr(await srv.api('PUT', p, { body: { read_replication: { mode: 'sometimes' } } }), 400, 7400, /mode|read_replication/);
		assertErr(await srv.api('PUT', p, { body: { read_replication: { mode: 1 } } }), 400, 7400, /mode|read_replication/);
		assertErr(await srv.api('PUT', p, { body: { read_replication: 'auto' } }), 400, 7400, /read_replication/);
		assertErr(await srv.api('PUT', p, { body: { read_replication: { mode: 'auto' }, name: 'rename' } }), 400, 7400, /name/);
		assertErr(await srv.api('PUT', p, { body: 'nope' }), 400, 7400);
		// nothing changed
		const got = assertOk(await srv.api('GET', p));
		assert.equal(got.read_replication.mode, 'disabled');
		assert.equal(got.name, 'put-bad');
	});

	test('PATCH {} and PATCH with a mode', async () => {
		const srv = h.srv;
		const db = await createDb(srv, 'patch-db');
		const p = `${srv.dbPath()}/${db.uuid}`;
		const same = assertOk(await srv.api('PATCH', p, { body: {} }));
		assertD1(same, { name: 'patch-db', mode: 'disabled' });
		assert.equal(same.uuid, db.uuid);
		const auto = assertOk(await srv.api('PATCH', `${srv.dbPath()}/patch-db`, { body: { read_replication: { mode: 'auto' } } }));
		assertD1(auto, { name: 'patch-db', mode: 'auto' });
		// {} keeps the current mode
		const kept = assertOk(await srv.api('PATCH', p, { body: {} }));
		assert.equal(kept.read_replication.mode, 'auto');
		assert.equal(assertOk(await srv.api('GET', p)).read_replication.mode, 'auto');
	});

	test('PATCH with bad values → 400 and nothing changes', async () => {
		const srv = h.srv;
		const db = await createDb(srv, 'patch-bad');
		const p = `${srv.dbPath()}/${db.uuid}`;
		assertErr(await srv.api('PATCH', p, { body: { read_replication: { mode: 'always' } } }), 400, 7400, /mode|read_replication/);
		assertErr(await srv.api('PATCH', p, { body: { bogus: true } }), 400, 7400, /bogus/);
		assertErr(await srv.api('PATCH', p, { body: '[1,2' }), 400, 7400);
		assert.equal(assertOk(await srv.api('GET', p)).read_replication.mode, 'disabled');
	});

	test('PUT/PATCH on a missing database → 404 code 7404', async () => {
		const srv = h.srv;
		assertErr(await srv.api('PUT', `${srv.dbPath()}/${RANDOM_UUID}`, { body: { read_replication: { mode: 'auto' } } }), 404, 7404, new RegExp(RANDOM_UUID));
		assertErr(await srv.api('PATCH', `${srv.dbPath()}/missing-db`, { body: {} }), 404, 7404, /missing-db/);
	});
});

describe('databases: delete', () => {
	const h = useServer();

	test('delete answers a null result, removes the directory; a second delete → 404', async () => {
		const srv = h.srv;
		const db = await createDb(srv, 'del-db');
		const dir = path.join(srv.dataDir, 'databases', db.uuid);
		assert.ok(fs.existsSync(dir), `${dir} missing after create`);
		const r = await srv.api('DELETE', `${srv.dbPath()}/${db.uuid}`);
		assert.equal(r.status, 200, r.text);
		assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/i);
		assert.deepEqual(r.json, { result: null, success: true, errors: [], messages: [] });
		assert.ok(!fs.existsSync(dir), `${dir} still exists after delete: ${fs.existsSync(dir) ? fs.readdirSync(dir) : ''}`);
		assertErr(await srv.api('DELETE', `${srv.dbPath()}/${db.uuid}`), 404, 7404, new RegExp(`^The database ${db.uuid} could not be found$`));
		assertErr(await srv.api('GET', `${srv.dbPath()}/${db.uuid}`), 404, 7404);
		assertErr(await srv.api('GET', `${srv.dbPath()}/del-db`), 404, 7404);
		const list = assertOk(await srv.api('GET', srv.dbPath()));
		assert.ok(!list.some((d) => d.uuid === db.uuid));
	});

	test('delete by name; the name can then be reused with a new uuid', async () => {
		const srv = h.srv;
		const db = await createDb(srv, 'reuse-me');
		const r = await srv.api('DELETE', `${srv.dbPath()}/reuse-me`);
		assert.deepEqual(r.json, { result: null, success: true, errors: [], messages: [] });
		assert.ok(!fs.existsSync(path.join(srv.dataDir, 'databases', db.uuid)));
		const again = await createDb(srv, 'reuse-me');
		assert.notEqual(again.uuid, db.uuid);
		assert.equal(again.num_tables, 0);
		assert.equal(assertOk(await srv.api('GET', `${srv.dbPath()}/reuse-me`)).uuid, again.uuid);
	});

	test('concurrent deletes of one database: exactly one succeeds', async () => {
		const srv = h.srv;
		const db = await createDb(srv, 'del-race');
		const rs = await Promise.all(Array.from({ length: 8 }, () => srv.api('DELETE', `${srv.dbPath()}/${db.uuid}`)));
		assert.equal(rs.filter((r) => r.status === 200).length, 1, rs.map((r) => r.status).join(','));
		for (const r of rs) if (r.status !== 200) assertErr(r, 404, 7404);
		assert.ok(!fs.existsSync(path.join(srv.dataDir, 'databases', db.uuid)));
	});

	test('delete of a bad id → 400 code 7400', async () => {
		const srv = h.srv;
		assertErr(await srv.api('DELETE', `${srv.dbPath()}/bad$id`), 400, 7400);
	});
});

describe('databases: limits', () => {
	const h = useServer({
		accounts: [
			{ name: 'default-limit', email: 'dl@example.com' },
			{ name: 'own-limit', email: 'ol@example.com', maxDatabases: 1 },
		],
		args: ['--max-databases', '3', '--max-body-bytes', '1024'],
	});

	test('--max-databases on serve → 400 code 7406 at the limit; deleting frees a slot', async () => {
		const srv = h.srv;
		const a = srv.accounts[0];
		const made = [];
		for (let i = 0; i < 3; i++) made.push(await createDb(srv, `lim-${i}`, { token: a.tokens.rw, accountId: a.id }));
		assertErr(await srv.api('POST', srv.dbPath(a.id), { token: a.tokens.rw, body: { name: 'lim-3' } }), 400, 7406);
		assertEqualNames(assertOk(await srv.api('GET', srv.dbPath(a.id), { token: a.tokens.rw })), ['lim-0', 'lim-1', 'lim-2']);
		assertOk(await srv.api('DELETE', `${srv.dbPath(a.id)}/${made[1].uuid}`, { token: a.tokens.rw }));
		await createDb(srv, 'lim-3', { token: a.tokens.rw, accountId: a.id });
		assertErr(await srv.api('POST', srv.dbPath(a.id), { token: a.tokens.rw, body: { name: 'lim-4' } }), 400, 7406);
	});

	test('per-account --max-databases at account creation', async () => {
		const srv = h.srv;
		const b = srv.accounts[1];
		await createDb(srv, 'own-0', { token: b.tokens.rw, accountId: b.id });
		assertErr(await srv.api('POST', srv.dbPath(b.id), { token: b.tokens.rw, body: { name: 'own-1' } }), 400, 7406);
		assertEqualNames(assertOk(await srv.api('GET', srv.dbPath(b.id), { token: b.tokens.rw })), ['own-0']);
	});

	test('body over --max-body-bytes → 413 code 7400; exactly at the limit is fine', async () => {
		const srv = h.srv;
		const a = srv.accounts[0];
		// free a slot first
		const list = assertOk(await srv.api('GET', srv.dbPath(a.id), { token: a.tokens.rw }));
		assertOk(await srv.api('DELETE', `${srv.dbPath(a.id)}/${list[0].uuid}`, { token: a.tokens.rw }));

		const json = JSON.stringify({ name: 'big-body' });
		const atLimit = json + ' '.repeat(1024 - json.length);
		assert.equal(Buffer.byteLength(atLimit), 1024);
		const over = json + ' '.repeat(1025 - json.length);
		assertErr(await srv.api('POST', srv.dbPath(a.id), { token: a.tokens.rw, body: over }), 413, 7400);
		assertErr(await srv.api('POST', srv.dbPath(a.id), { token: a.tokens.rw, body: 'x'.repeat(100000) }), 413, 7400);
		assertErr(await srv.api('PUT', `${srv.dbPath(a.id)}/${list[1].uuid}`, { token: a.tokens.rw, body: '{' + ' '.repeat(5000) + '}' }), 413, 7400);
		// not created
		assertErr(await srv.api('GET', `${srv.dbPath(a.id)}/big-body`, { token: a.tokens.rw }), 404, 7404);
		const db = assertOk(await srv.api('POST', srv.dbPath(a.id), { token: a.tokens.rw, body: atLimit }));
		assert.equal(db.name, 'big-body');
	});
});

describe('databases: default body limit', () => {
	const h = useServer();

	test('a body over the default 10485760 bytes → 413 code 7400', async () => {
		const srv = h.srv;
		const json = JSON.stringify({ name: 'huge-body' });
		const over = json + ' '.repeat(10485761 - json.length);
		assertErr(await srv.api('POST', srv.dbPath(), { body: over }), 413, 7400);
		// a body of 1 MiB is under the default and accepted
		const ok = json + ' '.repeat(1048576 - json.length);
		assert.equal(assertOk(await srv.api('POST', srv.dbPath(), { body: ok })).name, 'huge-body');
	});
});

describe('databases: persistence across restart', () => {
	test('databases and their state survive a restart of the server', async () => {
		const srv = await startServer();
		let srv2;
		try {
			const db = await createDb(srv, 'persist-db');
			assertOk(await srv.api('PUT', `${srv.dbPath()}/${db.uuid}`, { body: { read_replication: { mode: 'auto' } } }));
			const gone = await createDb(srv, 'persist-gone');
			assertOk(await srv.api('DELETE', `${srv.dbPath()}/${gone.uuid}`));
			await srv.stop({ keepDir: true });
			srv2 = await startServer({ dataDir: srv.dataDir, accounts: [] });
			// same tokens still work
			srv2.account = srv.account;
			srv2.token = srv.token;
			const got = assertOk(await srv2.api('GET', `${srv2.dbPath()}/persist-db`));
			assertD1(got, { name: 'persist-db', mode: 'auto' });
			assert.equal(got.uuid, db.uuid);
			assert.equal(got.created_at, db.created_at);
			assertErr(await srv2.api('GET', `${srv2.dbPath()}/persist-gone`), 404, 7404);
			assert.deepEqual(assertOk(await srv2.api('GET', srv2.dbPath())).map((d) => d.name), ['persist-db']);
			// an existing account means no default account is made
			assert.doesNotMatch(srv2.stdout(), /CLOUDFLARE_API_TOKEN/);
		} finally {
			if (srv2) await srv2.stop({ keepDir: false });
			else await srv.stop({ keepDir: false });
			fs.rmSync(srv.dataDir, { recursive: true, force: true });
		}
	});
});

function assertEqualNames(list, names) {
	assert.deepEqual(list.map((d) => d.name), names);
}
