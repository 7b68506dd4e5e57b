// wrangler (the pinned version) `d1` commands end to end against d1d, unchanged.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useServer, assertOk, assertErr, createDb, wrangler, wranglerDesc, wranglerJson, UUID_V4_RE } from './harness.mjs';

describe('wrangler d1', () => {
	const h = useServer({
		accounts: [
			{ name: 'wr', email: 'wr@example.com' },
			{ name: 'wr-ten', email: 'ten@example.com' },
		],
	});
	const env = () => h.srv.wranglerEnv();
	const getDb = async (name) => h.srv.api('GET', `${h.srv.dbPath()}/${name}`);

	test('create (plain, --location, --jurisdiction)', async () => {
		const [plain, weur, eu] = await Promise.all([
			wrangler(['d1', 'create', 'wr-db'], env()),
			wrangler(['d1', 'create', 'wr-weur', '--location', 'weur'], env()),
			wrangler(['d1', 'create', 'wr-eu', '--jurisdiction', 'eu'], env()),
		]);
		for (const r of [plain, weur, eu]) assert.equal(r.code, 0, wranglerDesc(r));
		const db = assertOk(await getDb('wr-db'));
		assert.match(db.uuid, UUID_V4_RE);
		assert.match(plain.stdout, /Successfully created DB 'wr-db'/, wranglerDesc(plain));
		assert.ok(plain.stdout.includes(db.uuid), `create output lacks the uuid ${db.uuid}:\n${wranglerDesc(plain)}`);
		assert.match(weur.stdout, /Successfully created DB 'wr-weur'/, wranglerDesc(weur));
		assert.match(weur.stdout, /weur/);
		assert.equal(assertOk(await getDb('wr-weur')).jurisdiction, null);
		assert.equal(assertOk(await getDb('wr-eu')).jurisdiction, 'eu');
	});

	test('create of a duplicate exits non-zero with "already exists"', async () => {
		const r = await wrangler(['d1', 'create', 'wr-db'], env());
		assert.notEqual(r.code, 0, wranglerDesc(r));
		assert.match(r.stdout + r.stderr, /already exists/, wranglerDesc(r));
		const list = assertOk(await h.srv.api('GET', `${h.srv.dbPath()}?name=wr-db`));
		assert.equal(list.length, 1);
	});

	test('list and list --json', async () => {
		const all = assertOk(await h.srv.api('GET', h.srv.dbPath()));
		const [txt, js] = await Promise.all([wrangler(['d1', 'list'], env()), wrangler(['d1', 'list', '--json'], env())]);
		assert.equal(txt.code, 0, wranglerDesc(txt));
		for (const d of all) {
			assert.ok(txt.stdout.includes(d.name), `list lacks ${d.name}:\n${wranglerDesc(txt)}`);
			assert.ok(txt.stdout.includes(d.uuid), `list lacks ${d.uuid}:\n${wranglerDesc(txt)}`);
		}
		assert.equal(js.code, 0, wranglerDesc(js));
		const arr = wranglerJson(js);
		assert.ok(Array.isArray(arr));
		assert.deepEqual(arr.map((d) => [d.uuid, d.name]), all.map((d) => [d.uuid, d.name]));
	});

	test('list --json with exactly 10 databases (wrangler asks for the page past the end)', async () => {
		const srv = h.srv;
		const ten = srv.accounts[1];
		const made = [];
		for (let i = 0; i < 10; i++) made.push(await createDb(srv, `ten-${i}`, { token: ten.tokens.rw, accountId: ten.id }));
		const r = await wrangler(['d1', 'list', '--json'], srv.wranglerEnv(ten), { timeout: 30000 });
		assert.equal(r.code, 0, wranglerDesc(r));
		const arr = wranglerJson(r);
		assert.deepEqual(arr.map((d) => d.uuid), made.map((d) => d.uuid));
	});

	test('info and info --json', async () => {
		const db = assertOk(await getDb('wr-db'));
		const [txt, js] = await Promise.all([wrangler(['d1', 'info', 'wr-db'], env()), wrangler(['d1', 'info', 'wr-db', '--json'], env())]);
		assert.equal(txt.code, 0, wranglerDesc(txt));
		assert.ok(txt.stdout.includes(db.uuid), wranglerDesc(txt));
		assert.match(txt.stdout, /num_tables/);
		assert.match(txt.stdout, /read_replication\.mode/);
		assert.equal(js.code, 0, wranglerDesc(js));
		const info = wranglerJson(js);
		assert.equal(info.uuid, db.uuid);
		assert.equal(info.name, 'wr-db');
		assert.equal(info.num_tables, 0);
		assert.equal(info.created_at, db.created_at);
		// wrangler renames a non-zero file_size to database_size
		assert.equal(info.database_size, db.file_size);
		assert.deepEqual(info.read_replication, { mode: 'disabled' });
		// the graphql answer was JSON, so the 24h metrics are filled in
		assert.equal(info.read_queries_24h, 0, JSON.stringify(info));
		assert.equal(info.write_queries_24h, 0);
	});

	test('info of a missing database exits non-zero with "Couldn\'t find"', async () => {
		const r = await wrangler(['d1', 'info', 'no-such-db'], env());
		assert.notEqual(r.code, 0, wranglerDesc(r));
		assert.match(r.stdout + r.stderr, /Couldn't find/, wranglerDesc(r));
	});

	test('delete -y removes the database', async () => {
		const db = assertOk(await getDb('wr-weur'));
		const r = await wrangler(['d1', 'delete', 'wr-weur', '-y'], env());
		assert.equal(r.code, 0, wranglerDesc(r));
		assert.match(r.stdout, /Deleted 'wr-weur' successfully/, wranglerDesc(r));
		assert.ok(r.stdout.includes(db.uuid), wranglerDesc(r));
		assertErr(await getDb('wr-weur'), 404, 7404);
		assert.ok(!fs.existsSync(path.join(h.srv.dataDir, 'databases', db.uuid)));
		const again = await wrangler(['d1', 'delete', 'wr-weur', '-y'], env());
		assert.notEqual(again.code, 0, wranglerDesc(again));
		assert.match(again.stdout + again.stderr, /Couldn't find/, wranglerDesc(again));
	});

	test('auth: email + API key works; a bad token fails with the server\'s error', async () => {
		const srv = h.srv;
		const keyEnv = {
			CLOUDFLARE_API_BASE_URL: srv.baseURL,
			CLOUDFLARE_ACCOUNT_ID: srv.account.id,
			CLOUDFLARE_EMAIL: 'WR@example.com',
			CLOUDFLARE_API_KEY: srv.token,
		};
		const [ok, bad, ro] = await Promise.all([
			wrangler(['d1', 'list', '--json'], keyEnv),
			wrangler(['d1', 'list'], { ...env(), CLOUDFLARE_API_TOKEN: 'bogus-token' }),
			wrangler(['d1', 'create', 'wr-ro'], srv.wranglerEnv(srv.account, srv.roToken)),
		]);
		assert.equal(ok.code, 0, wranglerDesc(ok));
		assert.ok(wranglerJson(ok).some((d) => d.name === 'wr-db'));
		assert.notEqual(bad.code, 0, wranglerDesc(bad));
		assert.match(bad.stdout + bad.stderr, /9109/, wranglerDesc(bad));
		assert.notEqual(ro.code, 0, wranglerDesc(ro));
		assert.match(ro.stdout + ro.stderr, /10000/, wranglerDesc(ro));
		assertErr(await getDb('wr-ro'), 404, 7404);
	});
});
