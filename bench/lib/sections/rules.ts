/** The rules section of `npm run bench`: what the rule engine adds to reading and detection (bench/rules.ts). */
import { formatRulesBench, runRulesBench } from '../../rules';
import type { BenchSection } from '../section';

export const section: BenchSection = {
  name: 'rules',
  title: 'the built-in pack and the 57 SigmaHQ CloudTrail rules, against the same replay without rules',
  async run(context) {
    console.log(formatRulesBench(await runRulesBench((line) => context.log(line))));
  },
};
