/** The cost section of `npm run bench`: the deployed pipeline's cost per million events (bench/cost.ts). */
import { formatCostRows, runCostBench } from '../../cost';
import type { BenchSection } from '../section';

export const section: BenchSection = {
  name: 'cost',
  title: "the detection pipeline's cost per million events, from throughput measured now, against CloudTrail Insights",
  async run() {
    console.log(formatCostRows(await runCostBench()));
  },
};
