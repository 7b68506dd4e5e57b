// A short soak (tests/soak/soak.mjs) as part of make test: 15 seconds of
// mixed reads, writes, batches, lists and database creates and deletes from
// 32 connections on 20 databases. Every answer must be the expected one,
// every acknowledged row must be there, and the server's memory and open
// files must not grow after the warm-up. `make soak` runs the long version
// on a release build.
import { test } from 'node:test';
import { soak } from '../soak/soak.mjs';

const sanitized = /asan|tsan/.test(process.env.D1D_BIN ?? '');

test('short soak: mixed load from 32 connections on 20 databases, no unexpected answer, no lost row, no growth', { timeout: 180000 }, async () => {
	const asan = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=16'].filter(Boolean).join(':');
	await soak({
		seconds: Number(process.env.SOAK_SECONDS ?? 15),
		dbs: 20,
		conns: 32,
		// A sanitizer's shadow memory and quarantine grow with the heap;
		// the bound is looser there, but still catches a steady leak.
		env: { ASAN_OPTIONS: asan },
		rssSlackKiB: sanitized ? 64 * 1024 : undefined,
	});
});
