/** The state section of `npm run bench`: how the detection state and its per-file work grow (bench/state.ts). */
import { formatGrowth, runStateBench } from '../../state';
import type { BenchSection } from '../section';

export const section: BenchSection = {
  name: 'state',
  title:
    'detection state and state-store work per file for busy partitions of 100, 1,000 and 5,000 principals over 30 days, against the smallest (about 10 minutes)',
  async run(context) {
    console.log(formatGrowth(await runStateBench({ log: (line) => context.log(line) })));
  },
};
