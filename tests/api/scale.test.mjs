// Scale: 10,000 databases in one d1d, each created and queried, with the
// number of open files bounded by --max-open-dbs (an LRU of open
// databases), not by the number of databases.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { useServer, assertOk } from './harness.mjs';

const N = Number(process.env.D1D_SCALE_DBS || 10000);
const MAX_OPEN = 32;

function fdCount(pid) {
	return fs.readdirSync(`/proc/${pid}/fd`).length;
}

function rssMiB(pid) {
	const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
	return m ? Number(m[1]) / 1024 : NaN;
}

/** Run fn(i) for i in [0, n) with at most `width` calls in flight. */
async function pool(n, width, fn) {
	let next = 0;
	const workers = Array.from({ length: width }, async () => {
		while (next < n) await fn(next++);
	});
	await Promise.all(workers);
}

describe('scale', () => {
	const h = useServer({ args: ['--max-open-dbs', String(MAX_OPEN)] });

	test(`${N} databases created and queried; open files stay bounded`, { timeout: 600000 }, async () => {
		const srv = h.srv;
		const pid = srv.child.pid;
		const fdBase = fdCount(pid);
		let fdPeak = 0;
		const uuids = new Array(N);

		await pool(N, 16, async (i) => {
			const r = await srv.api('POST', srv.dbPath(), { body: { name: `s${i}` } });
			uuids[i] = assertOk(r).uuid;
		});
		const rssAfterCreate = rssMiB(pid);

		await pool(N, 16, async (i) => {
			const r = await srv.api('POST', `${srv.dbPath()}/${uuids[i]}/query`, {
				body: { sql: 'CREATE TABLE t(v); INSERT INTO t VALUES (?); SELECT v FROM t', params: [i] },
			});
			const res = assertOk(r);
			assert.deepEqual(res[2].results, [{ v: i }]);
			if (i % 500 === 0) fdPeak = Math.max(fdPeak, fdCount(pid));
		});
		fdPeak = Math.max(fdPeak, fdCount(pid));
		const rssAfterQuery = rssMiB(pid);

		// Every database still answers with its own content after its
		// connections were closed by the LRU: sample some.
		for (const i of [0, 1, Math.floor(N / 2), N - 1]) {
			const r = await srv.api('POST', `${srv.dbPath()}/s${i}/raw`, { body: { sql: 'SELECT v FROM t' } });
			assert.deepEqual(assertOk(r)[0].results.rows, [[i]]);
		}
		const list = assertOk(await srv.api('GET', `${srv.dbPath()}?per_page=1&page=${N}`));
		assert.equal(list.length, 1);

		// A database open holds a writer and readers, each on the file, its
		// WAL and its index; 16 clients in flight hold their sockets.
		const bound = fdBase + MAX_OPEN * 3 * 5 + 64;
		process.stderr.write(
			`scale: ${N} databases; fds base ${fdBase}, peak ${fdPeak} (bound ${bound}); ` +
				`RSS ${rssAfterCreate.toFixed(0)} MiB after creates, ${rssAfterQuery.toFixed(0)} MiB after queries\n`,
		);
		assert.ok(fdPeak <= bound, `open files ${fdPeak} > ${bound}`);
		assert.ok(rssAfterQuery < 2048, `RSS ${rssAfterQuery} MiB`);
	});
});
