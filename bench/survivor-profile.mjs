// Samples what the exporter allocates that survives a scavenge (promoted to the old generation,
// or still young when the process ends), by allocation site, for a bench run:
//   BENCH_EXPORTER_NODE_ARGS="--import=./bench/survivor-profile.mjs" BENCH_ONLY=ingest BENCH_RUNS=1 npm run bench
// Each exporter process writes, when it exits, <tmpdir>/statusmate-survivors-<pid>.heapprofile (a
// sampling heap profile, as Chrome DevTools reads it). Objects a scavenge collects are left out;
// those a mark-compact collects later are kept: they are what makes the old generation grow and
// be marked. Sampling slows the exporter: its req/s are not the bench's.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const session = new Session();
session.connect();
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
process.on('exit', () => {
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (!error) writeFileSync(join(tmpdir(), `statusmate-survivors-${process.pid}.heapprofile`), JSON.stringify(result.profile));
  });
});
