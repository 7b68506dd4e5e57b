// Authentication and authorization: bearer tokens, X-Auth-Email/X-Auth-Key,
// cross-account access, read-only tokens, revocation on a running server.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { useServer, assertOk, assertErr, createDb, cliOk, sleep } from './harness.mjs';

const RANDOM_UUID = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';

describe('auth', () => {
	const h = useServer({
		accounts: [
			{ name: 'alice', email: 'alice@example.com' },
			{ name: 'bob', email: 'bob@example.com' },
		],
	});
	let alice, bob, aliceDb, bobDb;

	before(async () => {
		const srv = h.srv;
		[alice, bob] = srv.accounts;
		aliceDb = await createDb(srv, 'alice-db', { token: alice.tokens.rw, accountId: alice.id });
		bobDb = await createDb(srv, 'bob-db', { token: bob.tokens.rw, accountId: bob.id });
	});

	test('bearer token of the account works', async () => {
		const r = await h.srv.api('GET', h.srv.dbPath(alice.id), { token: alice.tokens.rw });
		const result = assertOk(r);
		assert.deepEqual(result.map((d) => d.name), ['alice-db']);
	});

	test('no credentials → 401 code 10000', async () => {
		const srv = h.srv;
		assertErr(await srv.api('GET', srv.dbPath(alice.id), { token: null }), 401, 10000);
		assertErr(await srv.api('GET', `${srv.dbPath(alice.id)}/${aliceDb.uuid}`, { token: null }), 401, 10000);
		assertErr(await srv.api('POST', srv.dbPath(alice.id), { token: null, body: { name: 'x-noauth' } }), 401, 10000);
		assertErr(await srv.api('DELETE', `${srv.dbPath(alice.id)}/${aliceDb.uuid}`, { token: null }), 401, 10000);
		// nothing was created or deleted
		const list = assertOk(await srv.api('GET', srv.dbPath(alice.id), { token: alice.tokens.rw }));
		assert.deepEqual(list.map((d) => d.name), ['alice-db']);
	});

	test('unknown, tampered or malformed bearer token → 401 code 9109', async () => {
		const srv = h.srv;
		const p = srv.dbPath(alice.id);
		for (const tok of ['nonsense', alice.tokens.rw + 'x', alice.tokens.rw.slice(0, -1), 'a'.repeat(40), '%%%%']) {
			assertErr(await srv.api('GET', p, { token: tok }), 401, 9109);
		}
		// a bearer header with no token at all is also not a valid token
		assertErr(await srv.api('GET', p, { token: null, headers: { Authorization: 'Bearer ' } }), 401);
	});

	test('X-Auth-Email + X-Auth-Key (email case-insensitive)', async () => {
		const srv = h.srv;
		const p = srv.dbPath(alice.id);
		for (const email of ['alice@example.com', 'ALICE@Example.COM']) {
			const r = await srv.api('GET', p, { token: null, headers: { 'X-Auth-Email': email, 'X-Auth-Key': alice.tokens.rw } });
			assert.deepEqual(assertOk(r).map((d) => d.name), ['alice-db'], email);
		}
		// a write works too with an rw key
		const r = await srv.api('POST', p, {
			token: null,
			headers: { 'X-Auth-Email': 'alice@example.com', 'X-Auth-Key': alice.tokens.rw },
			body: { name: 'alice-keyauth' },
		});
		const db = assertOk(r);
		assertOk(await srv.api('DELETE', `${p}/${db.uuid}`, { token: alice.tokens.rw }));
	});

	test('X-Auth-Key with the wrong email → 401 code 9109', async () => {
		const srv = h.srv;
		const p = srv.dbPath(alice.id);
		// an email that is nobody's
		assertErr(await srv.api('GET', p, { token: null, headers: { 'X-Auth-Email': 'mallory@example.com', 'X-Auth-Key': alice.tokens.rw } }), 401, 9109);
		// another account's email with alice's key
		assertErr(await srv.api('GET', p, { token: null, headers: { 'X-Auth-Email': 'bob@example.com', 'X-Auth-Key': alice.tokens.rw } }), 401, 9109);
		// right email, bogus key
		assertErr(await srv.api('GET', p, { token: null, headers: { 'X-Auth-Email': 'alice@example.com', 'X-Auth-Key': 'bogus' } }), 401, 9109);
	});

	test("valid token on another account's path → 403 code 7403", async () => {
		const srv = h.srv;
		const other = srv.dbPath(bob.id);
		const tok = alice.tokens.rw;
		assertErr(await srv.api('GET', other, { token: tok }), 403, 7403);
		assertErr(await srv.api('POST', other, { token: tok, body: { name: 'intruder' } }), 403, 7403);
		assertErr(await srv.api('GET', `${other}/${bobDb.uuid}`, { token: tok }), 403, 7403);
		assertErr(await srv.api('GET', `${other}/bob-db`, { token: tok }), 403, 7403);
		assertErr(await srv.api('PUT', `${other}/${bobDb.uuid}`, { token: tok, body: { read_replication: { mode: 'auto' } } }), 403, 7403);
		assertErr(await srv.api('PATCH', `${other}/${bobDb.uuid}`, { token: tok, body: {} }), 403, 7403);
		assertErr(await srv.api('DELETE', `${other}/${bobDb.uuid}`, { token: tok }), 403, 7403);
		// bob's data is untouched
		const list = assertOk(await srv.api('GET', other, { token: bob.tokens.rw }));
		assert.deepEqual(list.map((d) => [d.uuid, d.name]), [[bobDb.uuid, 'bob-db']]);
		const got = assertOk(await srv.api('GET', `${other}/${bobDb.uuid}`, { token: bob.tokens.rw }));
		assert.equal(got.read_replication.mode, 'disabled');
	});

	test('cross-account answer is byte-identical whether or not the database exists', async () => {
		const srv = h.srv;
		const other = srv.dbPath(bob.id);
		const tok = alice.tokens.rw;
		const pairs = [
			['GET', `${other}/${bobDb.uuid}`, `${other}/${RANDOM_UUID}`],
			['GET', `${other}/bob-db`, `${other}/no-such-db`],
			['DELETE', `${other}/${bobDb.uuid}`, `${other}/${RANDOM_UUID}`],
		];
		for (const [m, exists, missing] of pairs) {
			const a = await srv.api(m, exists, { token: tok });
			const b = await srv.api(m, missing, { token: tok });
			assert.equal(a.status, 403);
			assert.equal(b.status, 403);
			assert.equal(a.text, b.text, `${m} ${exists} vs ${missing}`);
		}
		// also identical to a nonexistent account
		const c = await srv.api('GET', `${srv.dbPath('f'.repeat(32))}/${RANDOM_UUID}`, { token: tok });
		const d = await srv.api('GET', `${other}/${RANDOM_UUID}`, { token: tok });
		assert.equal(c.text, d.text);
	});

	test('nonexistent or malformed account id → 403 code 7403', async () => {
		const srv = h.srv;
		const tok = alice.tokens.rw;
		for (const acct of ['0'.repeat(32), 'f'.repeat(32), 'not-an-account', 'g'.repeat(32), alice.id + '0', alice.id.slice(1)]) {
			assertErr(await srv.api('GET', srv.dbPath(acct), { token: tok }), 403, 7403);
			assertErr(await srv.api('GET', `${srv.dbPath(acct)}/${aliceDb.uuid}`, { token: tok }), 403, 7403);
		}
	});

	test('read-only token: GET works, writes → 403 code 10000 and nothing changes', async () => {
		const srv = h.srv;
		const p = srv.dbPath(alice.id);
		const ro = alice.tokens.ro;
		const list = assertOk(await srv.api('GET', p, { token: ro }));
		assert.deepEqual(list.map((d) => d.name), ['alice-db']);
		const got = assertOk(await srv.api('GET', `${p}/${aliceDb.uuid}`, { token: ro }));
		assert.equal(got.uuid, aliceDb.uuid);
		assertOk(await srv.api('GET', `${p}/alice-db?fields=uuid,name`, { token: ro }));

		assertErr(await srv.api('POST', p, { token: ro, body: { name: 'ro-create' } }), 403, 10000);
		assertErr(await srv.api('PUT', `${p}/${aliceDb.uuid}`, { token: ro, body: { read_replication: { mode: 'auto' } } }), 403, 10000);
		assertErr(await srv.api('PATCH', `${p}/${aliceDb.uuid}`, { token: ro, body: { read_replication: { mode: 'auto' } } }), 403, 10000);
		assertErr(await srv.api('DELETE', `${p}/${aliceDb.uuid}`, { token: ro }), 403, 10000);
		// via X-Auth-Key too
		assertErr(await srv.api('DELETE', `${p}/${aliceDb.uuid}`, { token: null, headers: { 'X-Auth-Email': 'alice@example.com', 'X-Auth-Key': ro } }), 403, 10000);

		const after = assertOk(await srv.api('GET', p, { token: ro }));
		assert.deepEqual(after.map((d) => d.name), ['alice-db']);
		const again = assertOk(await srv.api('GET', `${p}/${aliceDb.uuid}`, { token: ro }));
		assert.equal(again.read_replication.mode, 'disabled');
	});

	test('token created and revoked while the server runs takes effect immediately', async () => {
		const srv = h.srv;
		const p = srv.dbPath(alice.id);
		const tok = await cliOk(['token', 'create', '--account', alice.id, '--name', 'live-token'], srv.dataDir);
		assertOk(await srv.api('GET', p, { token: tok }));
		const lines = (await cliOk(['token', 'list', '--account', alice.id], srv.dataDir)).split('\n');
		const line = lines.find((l) => l.split('\t')[3] === 'live-token');
		assert.ok(line, `live-token not in token list:\n${lines.join('\n')}`);
		const tokenId = line.split('\t')[0];
		await cliOk(['token', 'revoke', tokenId], srv.dataDir);
		assertErr(await srv.api('GET', p, { token: tok }), 401, 9109);
		assertErr(await srv.api('GET', p, { token: null, headers: { 'X-Auth-Email': 'alice@example.com', 'X-Auth-Key': tok } }), 401, 9109);
		// other tokens are unaffected
		assertOk(await srv.api('GET', p, { token: alice.tokens.rw }));
	});

	// The server keeps token and database lookups per thread while the
	// catalog's WAL-index header is unchanged (catalog.c). All requests here
	// go over one keep-alive connection, so one HTTP thread, whose kept
	// answers must be dropped when another process revokes the token and
	// when the database is deleted and made again under the same name: at
	// once, and still a while later.
	test('kept lookups are dropped when the catalog changes', async () => {
		const srv = h.srv;
		const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
		const call = (method, url, token, body) => new Promise((resolve, reject) => {
			const data = body === undefined ? undefined : JSON.stringify(body);
			const req = http.request(url, {
				method, agent,
				headers: { Authorization: `Bearer ${token}`, ...(data ? { 'Content-Type': 'application/json' } : {}) },
			}, (res) => {
				let text = '';
				res.setEncoding('utf8');
				res.on('data', (d) => { text += d; });
				res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
			});
			req.on('error', reject);
			req.end(data);
		});
		const p = srv.baseURL + srv.dbPath(alice.id);
		const rw = alice.tokens.rw;
		const tok = await cliOk(['token', 'create', '--account', alice.id, '--name', 'quiet-token'], srv.dataDir);
		const lines = (await cliOk(['token', 'list', '--account', alice.id], srv.dataDir)).split('\n');
		const tokenId = lines.find((l) => l.split('\t')[3] === 'quiet-token').split('\t')[0];
		const first = await createDb(srv, 'quiet-db', { token: rw, accountId: alice.id });
		const mark = () => call('POST', `${p}/quiet-db/query`, rw, { sql: 'SELECT v FROM mark' });
		const r0 = await call('POST', `${p}/quiet-db/query`, rw, { sql: "CREATE TABLE mark(v TEXT); INSERT INTO mark VALUES ('first')" });
		assert.equal(r0.status, 200, JSON.stringify(r0.json));
		try {
			for (let i = 0; i < 4; i++) {
				assert.equal((await call('GET', p, tok)).status, 200);
				const r = await mark();
				assert.equal(r.status, 200, JSON.stringify(r.json));
				assert.deepEqual(r.json.result[0].results, [{ v: 'first' }]);
			}

			await cliOk(['token', 'revoke', tokenId], srv.dataDir);
			assert.equal((await call('DELETE', `${p}/${first.uuid}`, rw)).status, 200);
			const second = await createDb(srv, 'quiet-db', { token: rw, accountId: alice.id });
			assert.notEqual(second.uuid, first.uuid);
			for (const wait of [0, 1000]) {
				await sleep(wait);
				const t = await call('GET', p, tok);
				assert.equal(t.status, 401, `after ${wait} ms: ${JSON.stringify(t.json)}`);
				assert.equal(t.json.errors[0].code, 9109);
				const r = await mark();
				assert.equal(r.status, 400, `after ${wait} ms: ${JSON.stringify(r.json)}`);
				assert.match(r.json.errors[0].message, /no such table: mark/);
			}
		} finally {
			agent.destroy();
		}
	});

	test('graphql requires auth and answers JSON with a data key', async () => {
		const srv = h.srv;
		const body = {
			query: 'query getD1MetricsOverviewQuery($accountTag: string, $filter: ZoneWorkersRequestsFilter_InputObject) { viewer { accounts(filter: {accountTag: $accountTag}) { d1AnalyticsAdaptiveGroups(limit: 10000, filter: $filter) { sum { readQueries writeQueries rowsRead rowsWritten } dimensions { datetimeHour } } } } }',
			operationName: 'getD1MetricsOverviewQuery',
			variables: { accountTag: alice.id, filter: { AND: [{ databaseId: aliceDb.uuid }] } },
		};
		const ok = await srv.api('POST', '/graphql', { token: alice.tokens.rw, body });
		assert.equal(ok.status, 200, ok.text);
		assert.match(ok.headers.get('content-type') ?? '', /^application\/json\b/i);
		assert.ok(ok.json && typeof ok.json === 'object' && 'data' in ok.json, ok.text);
		const ro = await srv.api('POST', '/graphql', { token: alice.tokens.ro, body });
		assert.equal(ro.status, 200, ro.text);
		assert.ok(ro.json && 'data' in ro.json, ro.text);
		assertErr(await srv.api('POST', '/graphql', { token: null, body }), 401, 10000);
		assertErr(await srv.api('POST', '/graphql', { token: 'bogus', body }), 401, 9109);
	});
});
