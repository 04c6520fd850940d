// Preloaded into every process the benchmark measures (`node --require`): on exit, writes the process's peak
// RSS and CPU time to the file named by TRAILSIGHT_BENCH_STATS, so a command is measured as it runs, with no
// wrapper and no change to the command. maxRSS covers every thread, DuckDB's native memory included.
const { writeFileSync } = require('node:fs');

const file = process.env.TRAILSIGHT_BENCH_STATS;
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({ maxRssKB: usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 }),
    );
  });
}
